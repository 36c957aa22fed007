import { PanelSkeleton } from "@/components/ui/skeleton";

export default function AuditLoading() {
  return (
    <div className="flex flex-col gap-4" aria-busy="true">
      <div className="h-12 w-72 animate-pulse rounded bg-zinc-200/70" />
      <PanelSkeleton title="Filters" rows={2} />
      <PanelSkeleton title="Actions" rows={8} />
    </div>
  );
}
