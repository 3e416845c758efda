package io.pbft.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Bounds of the protocol core. Every one of them is a limit the core enforces by dropping
 * and counting the surplus, never by blocking.
 *
 * @param batchSizeMax requests in one pre-prepare
 * @param batchBytesMax serialized bytes of the requests in one pre-prepare
 * @param windowSize L of the paper: sequence numbers accepted lie in (low, low + L]
 * @param pipelineDepthMax pre-prepares the primary keeps in flight (not yet executed)
 * @param checkpointInterval K of the paper: a checkpoint every K sequence numbers
 * @param pendingRequestsMax client requests the primary queues for the next batches
 * @param operationBytesMax largest operation a client may submit
 * @param viewChangeTimeoutMs how long a backup waits for a request it knows of to execute before
 *     it suspects the primary (doubled after each consecutive view change, section 4.5.2)
 * @param stateChunkBytesMax largest piece of a checkpoint's state sent in one message
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record ProtocolSettings(
    int batchSizeMax,
    int batchBytesMax,
    int windowSize,
    int pipelineDepthMax,
    int checkpointInterval,
    int pendingRequestsMax,
    int operationBytesMax,
    int viewChangeTimeoutMs,
    int stateChunkBytesMax) {

  public static ProtocolSettings defaults() {
    return new ProtocolSettings(400, 4 << 20, 1024, 4, 128, 20_000, 1 << 20, 1000, 1 << 20);
  }

  public ProtocolSettings {
    positive("protocol.batchSizeMax", batchSizeMax);
    positive("protocol.batchBytesMax", batchBytesMax);
    positive("protocol.windowSize", windowSize);
    positive("protocol.pipelineDepthMax", pipelineDepthMax);
    positive("protocol.checkpointInterval", checkpointInterval);
    positive("protocol.pendingRequestsMax", pendingRequestsMax);
    positive("protocol.operationBytesMax", operationBytesMax);
    if (pipelineDepthMax > windowSize) {
      throw new ConfigException("protocol.pipelineDepthMax (" + pipelineDepthMax
          + ") cannot exceed protocol.windowSize (" + windowSize + ")");
    }
    if (operationBytesMax > batchBytesMax) {
      throw new ConfigException("protocol.operationBytesMax (" + operationBytesMax
          + ") cannot exceed protocol.batchBytesMax (" + batchBytesMax + ")");
    }
  }

  static void positive(String name, long value) {
    if (value <= 0) {
      throw new ConfigException(name + " must be positive, got " + value);
    }
  }

  public ProtocolSettings withBatchSizeMax(int v) {
    return new ProtocolSettings(v, batchBytesMax, windowSize, pipelineDepthMax, checkpointInterval, pendingRequestsMax, operationBytesMax,
        viewChangeTimeoutMs, stateChunkBytesMax);
  }

  public ProtocolSettings withWindowSize(int v) {
    return new ProtocolSettings(batchSizeMax, batchBytesMax, v, pipelineDepthMax, checkpointInterval, pendingRequestsMax, operationBytesMax,
        viewChangeTimeoutMs, stateChunkBytesMax);
  }

  public ProtocolSettings withViewChangeTimeoutMs(int v) {
    return new ProtocolSettings(batchSizeMax, batchBytesMax, windowSize, pipelineDepthMax, checkpointInterval,
        pendingRequestsMax, operationBytesMax, v, stateChunkBytesMax);
  }

  public ProtocolSettings withCheckpointInterval(int v) {
    return new ProtocolSettings(batchSizeMax, batchBytesMax, windowSize, pipelineDepthMax, v,
        pendingRequestsMax, operationBytesMax, viewChangeTimeoutMs, stateChunkBytesMax);
  }

  public ProtocolSettings withStateChunkBytesMax(int v) {
    return new ProtocolSettings(batchSizeMax, batchBytesMax, windowSize, pipelineDepthMax, checkpointInterval,
        pendingRequestsMax, operationBytesMax, viewChangeTimeoutMs, v);
  }

  public ProtocolSettings withPipelineDepthMax(int v) {
    return new ProtocolSettings(batchSizeMax, batchBytesMax, windowSize, v, checkpointInterval, pendingRequestsMax, operationBytesMax,
        viewChangeTimeoutMs, stateChunkBytesMax);
  }
}
