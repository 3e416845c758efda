package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.KvCompareAndSet;
import io.pbft.proto.KvOperation;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.Operation;
import java.util.ArrayList;
import java.util.List;

/**
 * What key-value operations mean: parses {@link KvOperation}s, applies them to {@link KvEntries}
 * and keeps the {@link KvDigest} in step with every change. Both stores delegate here, so they
 * give byte-for-byte equal results and digests for the same operations.
 */
final class KvExecutor {
  // Encoded once; handed out as copies so a caller that mutates a result cannot corrupt the next.
  private static final byte[] OK = encode(status(KvResult.Status.OK));
  private static final byte[] NOT_FOUND = encode(status(KvResult.Status.NOT_FOUND));

  private final KvDigest digest;

  KvExecutor(KvDigest digest) {
    this.digest = digest;
  }

  List<byte[]> execute(KvEntries entries, List<Operation> operations) {
    List<byte[]> results = new ArrayList<>(operations.size());
    for (Operation operation : operations) {
      results.add(apply(entries, parse(operation.payload())));
    }
    return results;
  }

  byte[] query(KvEntries entries, byte[] operation) {
    KvOperation op = parse(operation);
    if (op == null || op.getOpCase() != KvOperation.OpCase.GET) {
      return bad("a read-only query must be a get");
    }
    return get(entries, op.getGet().getKey());
  }

  /** Null for bytes that are not an operation: the caller answers BAD_OPERATION. */
  private static KvOperation parse(byte[] payload) {
    if (payload == null) {
      return null;
    }
    try {
      return KvOperation.parseFrom(payload);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  private byte[] apply(KvEntries entries, KvOperation op) {
    if (op == null) {
      return bad("not a key-value operation");
    }
    return switch (op.getOpCase()) {
      case PUT -> put(entries, op.getPut().getKey(), op.getPut().getValue());
      case GET -> get(entries, op.getGet().getKey());
      case DELETE -> delete(entries, op.getDelete().getKey());
      case CAS -> compareAndSet(entries, op.getCas());
      case OP_NOT_SET -> bad("no operation set");
    };
  }

  /** A refusal that says why; the client shows the reason. */
  private static byte[] bad(String reason) {
    return encode(status(KvResult.Status.BAD_OPERATION).setValue(ByteString.copyFromUtf8(reason)));
  }

  private static byte[] keyTooLarge(ByteString key) {
    return bad("key of " + key.size() + " bytes exceeds " + KvStateMachine.KEY_BYTES_MAX);
  }

  private byte[] put(KvEntries entries, ByteString key, ByteString value) {
    if (key.size() > KvStateMachine.KEY_BYTES_MAX) {
      return keyTooLarge(key);
    }
    store(entries, key, value);
    return OK.clone();
  }

  private static byte[] get(KvEntries entries, ByteString key) {
    if (key.size() > KvStateMachine.KEY_BYTES_MAX) {
      return keyTooLarge(key);
    }
    ByteString value = entries.get(key);
    if (value == null) {
      return NOT_FOUND.clone();
    }
    return encode(status(KvResult.Status.OK).setFound(true).setValue(value));
  }

  private byte[] delete(KvEntries entries, ByteString key) {
    if (key.size() > KvStateMachine.KEY_BYTES_MAX) {
      return keyTooLarge(key);
    }
    ByteString old = entries.get(key);
    if (old == null) {
      return NOT_FOUND.clone();
    }
    entries.remove(key);
    digest.remove(key, old);
    return OK.clone();
  }

  private byte[] compareAndSet(KvEntries entries, KvCompareAndSet cas) {
    ByteString key = cas.getKey();
    if (key.size() > KvStateMachine.KEY_BYTES_MAX) {
      return keyTooLarge(key);
    }
    // proto3 cannot tell an empty `expected` from an absent one, so expected_absent with a
    // non-empty `expected` is a contradiction, not a request we could guess the meaning of.
    if (cas.getExpectedAbsent() && !cas.getExpected().isEmpty()) {
      return bad("compare-and-set expects the key both absent and equal to a value");
    }
    ByteString current = entries.get(key);
    boolean matches = cas.getExpectedAbsent() ? current == null : cas.getExpected().equals(current);
    if (!matches) {
      KvResult.Builder failed = status(KvResult.Status.CAS_FAILED).setFound(current != null);
      if (current != null) {
        failed.setValue(current);
      }
      return encode(failed);
    }
    store(entries, key, cas.getNewValue());
    return OK.clone();
  }

  private void store(KvEntries entries, ByteString key, ByteString value) {
    ByteString old = entries.get(key);
    if (value.equals(old)) {
      return;  // nothing changes: no write, and the digest stays as it is
    }
    entries.put(key, value);
    digest.replace(key, old, value);
  }

  private static KvResult.Builder status(KvResult.Status status) {
    return KvResult.newBuilder().setStatus(status);
  }

  private static byte[] encode(KvResult.Builder result) {
    return result.build().toByteArray();
  }
}
