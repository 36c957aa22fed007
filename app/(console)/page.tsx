import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export default async function OverviewPage() {
  await requireUser("viewer");
  return (
    <>
      <PageHeader title="Overview" description="The ledger at a glance." />
      <p className="text-sm text-zinc-600">The overview panels come next.</p>
    </>
  );
}
