import type { Channel, EventName } from './channels.ts';
import type { ChannelInput, ChannelOutput, EventPayload } from './contract.ts';
import type { Envelope } from './envelope.ts';

type DomainOf<C extends string> = C extends `${infer D}:${string}` ? D : never;
type VerbOf<C extends string, D extends string> = C extends `${D}:${infer V}` ? V : never;

/** The shape of `window.castellan`, as the preload builds it from the channel list. */
export type Bridge = {
  [D in DomainOf<Channel>]: {
    [V in VerbOf<Channel, D>]: (input: ChannelInput<`${D}:${V}` & Channel>) => Promise<Envelope<ChannelOutput<`${D}:${V}` & Channel>>>;
  };
} & {
  events: { on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void };
};
