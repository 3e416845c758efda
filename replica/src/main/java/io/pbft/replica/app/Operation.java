package io.pbft.replica.app;

/** One client operation inside an ordered batch. */
public record Operation(int clientId, long timestamp, byte[] payload) {}
