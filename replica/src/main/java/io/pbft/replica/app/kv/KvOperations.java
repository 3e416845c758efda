package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;
import io.pbft.proto.KvCompareAndSet;
import io.pbft.proto.KvDelete;
import io.pbft.proto.KvGet;
import io.pbft.proto.KvOperation;
import io.pbft.proto.KvPut;

/** Encodes {@link KvStateMachine} operations, for tests and the simulator. */
public final class KvOperations {
  private KvOperations() {}

  public static byte[] put(byte[] key, byte[] value) {
    return KvOperation.newBuilder()
        .setPut(KvPut.newBuilder().setKey(ByteString.copyFrom(key)).setValue(ByteString.copyFrom(value)))
        .build().toByteArray();
  }

  public static byte[] get(byte[] key) {
    return KvOperation.newBuilder()
        .setGet(KvGet.newBuilder().setKey(ByteString.copyFrom(key)))
        .build().toByteArray();
  }

  public static byte[] delete(byte[] key) {
    return KvOperation.newBuilder()
        .setDelete(KvDelete.newBuilder().setKey(ByteString.copyFrom(key)))
        .build().toByteArray();
  }

  /**
   * Sets {@code key} to {@code newValue} iff its current value equals {@code expected}; a null
   * {@code expected} means "iff the key is absent" (an empty array means an empty value).
   */
  public static byte[] cas(byte[] key, byte[] expected, byte[] newValue) {
    KvCompareAndSet.Builder cas = KvCompareAndSet.newBuilder()
        .setKey(ByteString.copyFrom(key))
        .setNewValue(ByteString.copyFrom(newValue));
    if (expected == null) {
      cas.setExpectedAbsent(true);
    } else {
      cas.setExpected(ByteString.copyFrom(expected));
    }
    return KvOperation.newBuilder().setCas(cas).build().toByteArray();
  }
}
