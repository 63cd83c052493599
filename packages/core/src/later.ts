/**
 * What a synchronous attempt returns when it cannot finish at once (see `KnexStore`'s writes): nothing has been done,
 * and the caller takes the ordinary, asynchronous path.
 */
export const LATER: unique symbol = Symbol('later');
export type Later = typeof LATER;
