import { useEffect } from 'react';

/** Call `tick` every `ms` while `active` (a job's progress: no subscription in the API). */
export function usePoll(active: boolean, tick: () => void, ms = 1000) {
  useEffect(() => {
    if (!active) return;
    const id = window.setInterval(tick, ms);
    return () => window.clearInterval(id);
  }, [active, tick, ms]);
}
