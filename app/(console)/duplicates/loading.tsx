import { DuplicatesTableSkeleton } from "@/components/duplicates/duplicates-table";
import { Skeleton } from "@/components/ui/skeleton";

export default function Loading() {
  return (
    <div className="flex flex-col gap-4" aria-busy="true">
      <Skeleton className="h-7 w-40" />
      <Skeleton className="h-4 w-2/3" />
      <Skeleton className="h-32 w-full rounded-lg" />
      <DuplicatesTableSkeleton />
    </div>
  );
}
