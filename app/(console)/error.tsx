"use client";

import { useEffect } from "react";
import { HealthBanner } from "@/components/shell/health-banner";
import { Button } from "@/components/ui/button";
import { ErrorState } from "@/components/ui/states";

/** A page failed to render: say so plainly (no stack), check the servers, and offer a retry. */
export default function ConsoleError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <div className="flex flex-col gap-4">
      <HealthBanner initial={null} />
      <ErrorState title="This page could not be loaded.">
        <p>
          The server hit an error while reading the ledger. If a banner above says Postgres is unreachable, the page will load again once it is
          back.{error.digest ? ` Reference: ${error.digest}.` : ""}
        </p>
      </ErrorState>
      <div>
        <Button variant="secondary" onClick={() => reset()}>
          Try again
        </Button>
      </div>
    </div>
  );
}
