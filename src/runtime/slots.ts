// Places for long-lived requests (live streams, waits), shared out so that one client cannot take them all.

export interface Slots {
  /** A place for `key` (a client address): the function that gives it back, or which limit is reached. */
  take(key: string): (() => void) | "per_key" | "total";
}

export function createSlots(total: number, perKey: number): Slots {
  let open = 0;
  const byKey = new Map<string, number>();
  return {
    take(key) {
      const mine = byKey.get(key) ?? 0;
      if (mine >= perKey) return "per_key";
      if (open >= total) return "total";
      open++;
      byKey.set(key, mine + 1);
      let given = false;
      return () => {
        if (given) return;
        given = true;
        open--;
        const left = (byKey.get(key) ?? 1) - 1;
        if (left > 0) byKey.set(key, left);
        else byKey.delete(key);
      };
    },
  };
}
