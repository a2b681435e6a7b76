/**
 * The cluster bus frames of Pub/Sub: PubSubOpen (JSON {node}) opens a
 * connection that then carries PubSubMessage frames, each one PUBLISH or
 * SPUBLISH forwarded from another node:
 *   [u8 kind: 0 publish, 1 spublish][u32 channel length][channel][message].
 * Pure: no I/O.
 */
import { FrameError, FrameType, encodeFrame, encodeJsonFrame } from '../replication/frames.js';
import { parseJsonObject } from '../../common/frame-fields.js';

export type ForwardKind = 'publish' | 'spublish';

export interface ForwardedMessage {
  readonly kind: ForwardKind;
  readonly channel: Buffer;
  readonly message: Buffer;
}

export function encodePubSubOpen(node: string): Buffer {
  return encodeJsonFrame(FrameType.PubSubOpen, { node });
}

/** The sending node's name; FrameError if the body is not a PubSubOpen. */
export function decodePubSubOpen(body: Buffer): string {
  return parseJsonObject(body, 'PubSubOpen').nodeName('node');
}

export function encodePubSubMessage(m: ForwardedMessage): Buffer {
  const body = Buffer.allocUnsafe(5 + m.channel.length + m.message.length);
  body.writeUInt8(m.kind === 'publish' ? 0 : 1, 0);
  body.writeUInt32BE(m.channel.length, 1);
  m.channel.copy(body, 5);
  m.message.copy(body, 5 + m.channel.length);
  return encodeFrame(FrameType.PubSubMessage, body);
}

/** Decodes a PubSubMessage body (the Buffers are views of it); FrameError if it is malformed. */
export function decodePubSubMessage(body: Buffer): ForwardedMessage {
  if (body.length < 5) throw new FrameError(`PubSubMessage: body of ${body.length} bytes is shorter than its 5-byte header`);
  const k = body.readUInt8(0);
  if (k > 1) throw new FrameError(`PubSubMessage: kind must be 0 (publish) or 1 (spublish), got ${k}`);
  const n = body.readUInt32BE(1);
  if (n > body.length - 5) throw new FrameError(`PubSubMessage: channel of ${n} bytes does not fit the ${body.length - 5} bytes after the header`);
  return { kind: k === 0 ? 'publish' : 'spublish', channel: body.subarray(5, 5 + n), message: body.subarray(5 + n) };
}
