package io.pbft.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Bounds of the gRPC runtime.
 *
 * @param messageBytesMax largest gRPC message accepted (inbound) on any stream
 * @param peerQueueMax messages queued for one peer before new ones are dropped and counted
 * @param inboundQueueMax messages waiting for signature verification or the event loop
 * @param clientSessionsMax concurrent client streams one replica serves
 * @param verifyThreads signature verification threads (0: one per core)
 * @param reconnectDelayMs pause before a broken peer stream is reopened
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record TransportSettings(
    int messageBytesMax,
    int peerQueueMax,
    int inboundQueueMax,
    int clientSessionsMax,
    int verifyThreads,
    int reconnectDelayMs) {

  public static TransportSettings defaults() {
    return new TransportSettings(16 << 20, 20_000, 50_000, 4096, 0, 200);
  }

  public TransportSettings {
    ProtocolSettings.positive("transport.messageBytesMax", messageBytesMax);
    ProtocolSettings.positive("transport.peerQueueMax", peerQueueMax);
    ProtocolSettings.positive("transport.inboundQueueMax", inboundQueueMax);
    ProtocolSettings.positive("transport.clientSessionsMax", clientSessionsMax);
    ProtocolSettings.positive("transport.reconnectDelayMs", reconnectDelayMs);
    if (verifyThreads < 0) {
      throw new ConfigException("transport.verifyThreads must be 0 (one per core) or positive, got " + verifyThreads);
    }
  }
}
