package io.pbft.replica.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import org.junit.jupiter.api.Test;

class ParsedPayloadsTest {
  private static ByteString prepare(long sequence) {
    return ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(1).setSequence(sequence)
        .setReplicaId(2)).build().toByteString();
  }

  @Test
  void theSamePayloadObjectIsParsedOnce() {
    ParsedPayloads payloads = new ParsedPayloads(16);
    ByteString p = prepare(7);
    ParsedPayloads.Parsed first = payloads.parse(p);
    assertEquals(7, first.message().getPrepare().getSequence());
    assertFalse(first.unknownFields());
    assertSame(first, payloads.parse(p), "the second receiver gets the first one's parse");
    ByteString equalButOther = ByteString.copyFrom(p.toByteArray());
    ParsedPayloads.Parsed other = payloads.parse(equalButOther);
    assertNotSame(first, other, "known by identity: an equal copy is parsed on its own");
    assertEquals(first.message(), other.message(), "and parses alike");
  }

  @Test
  void garbageAndUnknownFieldsAreReportedAsWithoutTheMemory() {
    ParsedPayloads payloads = new ParsedPayloads(16);
    ByteString garbage = ByteString.copyFrom(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
    assertNull(payloads.parse(garbage).message());
    assertNull(payloads.parse(garbage).message(), "from memory too");
    ReplicaMessage withUnknown = ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(1)
        .setUnknownFields(UnknownFieldSet.newBuilder().addField(99, UnknownFieldSet.Field.newBuilder()
            .addVarint(1).build()).build())).build();
    ByteString bytes = withUnknown.toByteString();
    assertTrue(payloads.parse(bytes).unknownFields(), "an unknown field inside the body");
    assertTrue(ParsedPayloads.parseNow(bytes).unknownFields());
  }

  @Test
  void slotsMustBeAPowerOfTwo() {
    assertThrows(IllegalArgumentException.class, () -> new ParsedPayloads(12));
  }
}
