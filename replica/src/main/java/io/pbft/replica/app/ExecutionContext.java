package io.pbft.replica.app;

/**
 * What the protocol agreed about a batch besides its operations.
 *
 * @param sequence the batch's sequence number
 * @param view the view in which it committed
 */
public record ExecutionContext(long sequence, long view) {}
