/**
 * What a synchronous attempt returns when it cannot finish at once (see `KnexStore`'s writes): nothing has been done,
 * and the caller takes the ordinary, asynchronous path.
 */
export const LATER: unique symbol = Symbol('later');
export type Later = typeof LATER;

/**
 * What an operation returns when it finished without sending anything to the database (a touch the throttle skips,
 * any touch with `disableTouch`): no answer came, so it is no evidence for the availability events either way.
 */
export const NOTHING_SENT: unique symbol = Symbol('nothing sent');
export type NothingSent = typeof NOTHING_SENT;
