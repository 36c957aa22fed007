import { PanelSkeleton } from "@/components/ui/skeleton";
import { Skeleton } from "@/components/ui/skeleton";

export default function Loading() {
  return (
    <div className="flex flex-col gap-6" aria-busy="true">
      <Skeleton className="h-7 w-48" />
      <PanelSkeleton rows={8} />
    </div>
  );
}
