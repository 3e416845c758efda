package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.prePrepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ProtocolSettings;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Client request signatures checked together (authentication: signatures): the verdict on each
 * request is the one it gets alone, and a signature found valid in a batch is not checked again.
 */
class SignaturesTogetherTest {
  private final CoreFixture fx = new CoreFixture(4, 8, ProtocolSettings.defaults());
  private final InboundVerifier verifier = new InboundVerifier(fx.config);

  private List<SignedRequest> requests(int count, long timestamp) {
    List<SignedRequest> list = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      list.add(fx.request(i % 8, timestamp + i, "op-" + i));
    }
    return list;
  }

  @Test
  void signaturesValidTogetherAreNotVerifiedAgain() {
    List<SignedRequest> batch = requests(8, 1);
    assertEquals(8, verifier.checkTogether(batch));
    long hits = verifier.signaturesReused();
    for (SignedRequest r : batch) {
      assertTrue(verifier.verify(r, -1).isOk());
    }
    assertEquals(hits + 8, verifier.signaturesReused(), "each found in the cache");
    assertEquals(0, verifier.checkTogether(batch), "already verified: nothing left to check");
  }

  @Test
  void fewerThanTheMinimumAreLeftToBeVerifiedAlone() {
    assertEquals(0, verifier.checkTogether(requests(InboundVerifier.TOGETHER_MIN - 1, 1)));
  }

  @Test
  void oneForgedSignatureFailsTheBatchAndEachRequestGetsItsOwnVerdict() {
    List<SignedRequest> batch = requests(6, 1);
    // Client 7's request signed with client 0's key.
    SignedRequest forged = fx.requestSignedBy(7, 99, "steal", fx.clientKeys.get(0));
    batch.add(3, forged);
    assertEquals(0, verifier.checkTogether(batch));
    for (SignedRequest r : batch) {
      if (r == forged) {
        assertEquals(Rejection.BAD_CLIENT_SIGNATURE, verifier.verify(r, -1).reason());
      } else {
        assertTrue(verifier.verify(r, -1).isOk());
      }
    }
    // Client 7 sent a bad signature: its requests are left out of later batches, the others' are not.
    List<SignedRequest> next = requests(6, 100);
    next.add(fx.request(7, 200, "honest now"));
    assertEquals(6, verifier.checkTogether(next));
    assertTrue(verifier.verify(next.get(6), -1).isOk(), "and still verified alone");
  }

  @Test
  void aPrePrepareChecksItsRequestsTogetherWithTheSameVerdicts() {
    List<SignedRequest> batch = requests(8, 1);
    assertTrue(verifier.verify(fx.signed(0, prePrepare(0, 1, batch))).isOk());
    long hits = verifier.signaturesReused();
    for (SignedRequest r : batch) {
      assertTrue(verifier.verify(r, -1).isOk());
    }
    assertEquals(hits + 8, verifier.signaturesReused());

    List<SignedRequest> withForgery = requests(7, 50);
    withForgery.add(fx.requestSignedBy(6, 999, "steal", fx.clientKeys.get(1)));
    assertEquals(Rejection.EMBEDDED_INVALID_REQUEST, verifier.verify(fx.signed(0, prePrepare(0, 2, withForgery))).reason());
  }
}
