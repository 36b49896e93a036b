/**
 * gRPC channel and server options shared by every TaskForge process: keepalive so a half-open
 * connection is noticed within keepaliveTimeMs + keepaliveTimeoutMs (15 s), no transparent
 * retries on the long-lived streams, and message sizes large enough for 5 MiB of code.
 */
import type { ChannelOptions } from '@grpc/grpc-js';

export const KEEPALIVE = Object.freeze({
  /** Ping the peer after this long without activity. */
  timeMs: 10_000,
  /** Declare the connection dead when a ping is not answered within this. */
  timeoutMs: 5_000,
});

const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export const CLIENT_CHANNEL_OPTIONS: ChannelOptions = Object.freeze({
  'grpc.keepalive_time_ms': KEEPALIVE.timeMs,
  'grpc.keepalive_timeout_ms': KEEPALIVE.timeoutMs,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.enable_retries': 0,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
});

export const SERVER_OPTIONS: ChannelOptions = Object.freeze({
  'grpc.keepalive_time_ms': KEEPALIVE.timeMs,
  'grpc.keepalive_timeout_ms': KEEPALIVE.timeoutMs,
  'grpc.keepalive_permit_without_calls': 1,
  // Accept the clients' keepalive pings (the C-core default enforces 5 minutes).
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.http2.max_ping_strikes': 0,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
});
