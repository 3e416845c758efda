package io.pbft.replica.verify;

import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;

/** A client request from a known client whose signature verified. */
public record VerifiedRequest(SignedRequest signed, Request request) {}
