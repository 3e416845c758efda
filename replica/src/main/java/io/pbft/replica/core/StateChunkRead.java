package io.pbft.replica.core;

import com.google.protobuf.ByteString;

/**
 * The executor's answer to one {@link Effects.ReadStateChunk}: {@code data} read at
 * {@code offset} of a checkpoint's state of {@code totalBytes} bytes, or {@code available} false if
 * it no longer holds that checkpoint or the offset lies beyond it.
 */
public record StateChunkRead(int to, long sequence, ByteString digest, long offset, long totalBytes,
    ByteString data, boolean available) {}
