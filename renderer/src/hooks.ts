import { useCallback, useEffect, useRef, useState } from 'react';
import type { Channel } from '../../shared/ipc/channels.ts';
import type { ChannelInput, ChannelOutput } from '../../shared/ipc/contract.ts';
import { useReloadOnChange } from './changes.ts';
import { call, errorMessage, onEvent } from './ipc.ts';

export interface Query<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Calls a channel whenever `input` changes (compared as JSON) and on reload(). */
export function useChannel<C extends Channel>(channel: C, input: ChannelInput<C>): Query<ChannelOutput<C>> {
  const [data, setData] = useState<ChannelOutput<C> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(input);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    call(channel, JSON.parse(key) as ChannelInput<C>).then(
      (value) => {
        if (mine !== seq.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== seq.current) return;
        setError(errorMessage(err));
        setLoading(false);
      },
    );
  }, [channel, key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  // What another console or the CLI changed shows here too (the answer on screen stays until the new one arrives).
  useReloadOnChange([channel], reload);
  return { data, error, loading, reload };
}

/** Runs an action, tracking busy state and a readable error. */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setBusy(true);
      setError(null);
      try {
        return await fn(...args);
      } catch (err) {
        setError(errorMessage(err));
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [fn],
  );
  return { run, busy, error, setError };
}

export interface Progress {
  task: string;
  label: string;
  done: number;
  total: number;
}

/** The latest progress event from the main process (bulk mint, bulk revoke, imports, CRLs). */
export function useProgress(): Progress | null {
  const [progress, setProgress] = useState<Progress | null>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onEvent('progress', (p) => {
      setProgress(p);
      clearTimeout(timer);
      if (p.done >= p.total) timer = setTimeout(() => setProgress(null), 1500);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);
  return progress;
}
