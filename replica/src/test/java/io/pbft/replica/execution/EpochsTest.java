package io.pbft.replica.execution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.Administration;
import io.pbft.config.AdministrationKey;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.Reconfigurations;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.KvResult;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.kv.KvOperations;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.Executed;
import io.pbft.replica.verify.VerifiedRequest;
import io.pbft.crypto.Digests;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The configuration epoch as replicated state: a reconfiguration command is executed like any
 * ordered request, checked against the current membership, and an accepted one is pending until
 * its handover checkpoint; the pending change is covered by the state digest and travels with
 * snapshots, durable checkpoints and rollbacks.
 */
class EpochsTest {
  /** windowSize 8, checkpoints every 4: a change ordered at s takes effect at the first multiple of 4 at or above s + 8. */
  private static final ProtocolSettings SETTINGS = ProtocolSettings.defaults().toBuilder().windowSize(8)
      .checkpointInterval(4).pipelineDepthMax(4).build();

  private static Ed25519Keys keys(int index) {
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    Arrays.fill(secret, (byte) (index + 1));
    return Ed25519Keys.fromSecretKey(secret);
  }

  private static Member member(int id) {
    return new Member(id, "127.0.0.1", 7000 + id, keys(id).publicKey());
  }

  /** Epoch 0: replicas 0..3, f = 1, administration keys 100 and 101, either of which may sign. */
  private static final Membership EPOCH_0 = epoch0();

  private static Membership epoch0() {
    List<Member> members = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      members.add(member(i));
    }
    List<AdministrationKey> admins = List.of(new AdministrationKey(keys(100).publicKey()),
        new AdministrationKey(keys(101).publicKey()));
    return new Membership(0, members, 1, new Administration(admins, 1));
  }

  /** Adds replica {@code id} to {@code current}, signed by administration key 100. */
  private static Reconfiguration adding(Membership current, int id) {
    Reconfiguration unsigned = Reconfigurations.command(current, current.nextAdding(member(id)), "add " + id);
    return ReconfigurationSigning.signed(unsigned, keys(100));
  }

  private static Epochs epochs() {
    return new Epochs(EPOCH_0, SETTINGS);
  }

  @Test
  void theHandoverIsTheFirstCheckpointAWholeWindowAfterTheOrder() {
    Epochs e = epochs();
    assertEquals(12, e.handoverPoint(1));
    assertEquals(12, e.handoverPoint(4));
    assertEquals(16, e.handoverPoint(5));
    assertEquals(16, e.handoverPoint(8));
  }

  @Test
  void anAcceptedChangeIsPendingAndTheNextOneWaits() {
    Epochs e = epochs();
    assertEquals(0, e.summary().epoch());
    assertArrayEquals(EPOCH_0.digest(), e.summary().membershipDigest().toByteArray());
    assertNull(e.digestPart(), "epoch 0 with nothing pending adds nothing to the state digest");

    String verdict = e.apply(adding(EPOCH_0, 4), 5);
    assertEquals(Epochs.ACCEPTED + "epoch 0 -> 1 (n = 5, f = 1), ordered at 5, takes effect at checkpoint 16", verdict);
    Epochs.Pending p = e.summary().pending();
    assertEquals(1, p.next().epoch());
    assertEquals(List.of(0, 1, 2, 3, 4), p.next().ids());
    assertEquals(5, p.orderedAt());
    assertEquals(16, p.handoverAt());
    assertEquals(0, e.summary().epoch(), "still epoch 0 until the handover");
    assertTrue(e.digestPart() != null);

    String second = e.apply(adding(EPOCH_0, 5), 6);
    assertTrue(second.startsWith(Epochs.REFUSED + "the change to epoch 1 is still pending (ordered at 5, takes effect"
        + " at checkpoint 16): one change at a time"), second);
    assertEquals(p, e.pending(), "the refused command changed nothing");
  }

  @Test
  void aRefusedCommandSaysWhyAndChangesNothing() {
    Epochs e = epochs();
    Reconfiguration unsigned = Reconfigurations.command(EPOCH_0, EPOCH_0.nextAdding(member(4)), "add 4");
    String verdict = e.apply(unsigned, 3);
    assertTrue(verdict.startsWith(Epochs.REFUSED), verdict);
    assertTrue(verdict.contains("1 must sign"), verdict);
    Reconfiguration forged = adding(EPOCH_0, 4).toBuilder().setReason("something else").build();
    assertTrue(e.apply(forged, 3).contains("does not verify"), "a signature over other bytes");
    Reconfiguration skipping = ReconfigurationSigning.signed(unsigned.toBuilder().setEpoch(2).build(), keys(101));
    assertTrue(e.apply(skipping, 3).contains("the group is in epoch 0 and the next one is 1"));
    assertNull(e.pending());
    assertEquals(0, e.encode().length);
    assertNull(e.digestPart());
  }

  @Test
  void withoutAMembershipEveryCommandIsRefused() {
    Epochs e = Epochs.none();
    assertEquals(Epochs.REFUSED + "this replica runs without a membership to change", e.apply(adding(EPOCH_0, 4), 1));
    assertEquals(0, e.encode().length);
  }

  @Test
  void itsBytesCarryThePendingChangeAndBadBytesChangeNothing() throws IOException {
    Epochs e = epochs();
    e.apply(adding(EPOCH_0, 4), 5);
    Epochs copy = epochs();
    copy.decode(e.encode());
    assertEquals(e.summary(), copy.summary());
    assertArrayEquals(e.digestPart(), copy.digestPart());

    byte[] good = e.encode();
    assertThrows(IOException.class, () -> copy.decode(Arrays.copyOf(good, good.length - 3)));
    byte[] trailing = Arrays.copyOf(good, good.length + 1);
    assertThrows(IOException.class, () -> copy.decode(trailing));
    assertThrows(IOException.class, () -> copy.decode(new byte[] {0, 1, 2}), "a pending command that does not parse");
    assertEquals(e.summary(), copy.summary(), "refused bytes left it as it was");
    assertThrows(IOException.class, () -> Epochs.none().decode(good), "no membership to have changed");

    copy.decode(new byte[0]);
    assertNull(copy.pending(), "empty bytes: epoch 0 with nothing pending");
  }

  // --- through execution ---

  private static VerifiedRequest request(Request r) {
    return new VerifiedRequest(SignedRequest.newBuilder().setRequest(r.toByteString()).build(), r);
  }

  private static VerifiedRequest put(int client, long timestamp, String key) {
    return request(Request.newBuilder().setClientId(client).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(KvOperations.put(key.getBytes(StandardCharsets.UTF_8),
            "v".getBytes(StandardCharsets.UTF_8)))).build());
  }

  private static VerifiedRequest change(int client, long timestamp, Reconfiguration command) {
    return request(Request.newBuilder().setClientId(client).setTimestamp(timestamp).setReconfiguration(command).build());
  }

  private static Effects.Execute batch(long sequence, boolean tentative, VerifiedRequest... rs) {
    List<VerifiedRequest> requests = List.of(rs);
    long time = 1_000 * sequence;
    ByteString digest = ByteString.copyFrom(Digests.batchDigest(requests.stream().map(VerifiedRequest::signed).toList(),
        time));
    return new Effects.Execute(sequence, 0, requests, sequence % 4 == 0, time, digest, tentative);
  }

  private static Execution execution() {
    return new Execution(new KvStateMachine(), CheckpointStore.NONE, epochs());
  }

  private static String resultOf(Executed e, int client) {
    return e.results().stream().filter(r -> r.clientId() == client).findFirst().orElseThrow().result().toStringUtf8();
  }

  @Test
  void aCommandIsExecutedBesideOperationsAndAnsweredWithItsVerdict() throws Exception {
    Execution ex = execution();
    Execution twin = new Execution(new KvStateMachine(), CheckpointStore.NONE);
    Effects.Execute first = batch(1, false, put(0, 1, "a"));
    ex.execute(first);
    twin.execute(first);
    assertEquals(ex.stateDigest(), twin.stateDigest(), "before any change, the digest of a group without epochs");

    Executed ran = ex.execute(batch(2, false, put(0, 2, "b"), change(7, 1, adding(EPOCH_0, 4))));
    assertEquals(2, ran.results().size());
    assertEquals(KvResult.Status.OK, KvResult.parseFrom(ran.results().get(0).result()).getStatus(), "the put ran as ever");
    assertEquals(Epochs.ACCEPTED + "epoch 0 -> 1 (n = 5, f = 1), ordered at 2, takes effect at checkpoint 12",
        resultOf(ran, 7));
    assertEquals(3, ex.executedRequests(), "two puts and the change");
    assertEquals(2, ex.epochs().pending().orderedAt());
    Executed again = ex.execute(batch(3, false, change(7, 1, adding(EPOCH_0, 4))));
    assertEquals(resultOf(ran, 7), resultOf(again, 7), "a retransmission ordered again gets the same verdict, not a new one");
    twin.execute(batch(2, false, put(0, 2, "b"), change(7, 1, adding(EPOCH_0, 4))));
    assertEquals(Epochs.REFUSED + "this replica runs without a membership to change",
        twin.clientTable().stream().filter(r -> r.clientId() == 7).findFirst().orElseThrow().result().toStringUtf8());
    twin.execute(batch(3, false, change(7, 1, adding(EPOCH_0, 4))));
    assertNotEquals(ex.stateDigest(), twin.stateDigest(), "the pending change is in the digest");
  }

  /**
   * A faulty client with a command and a newer operation in one batch: the command runs after the
   * operation, and the client's entry stays the operation's, so the operation does not run again.
   */
  @Test
  void anOlderCommandInTheBatchOfANewerOperationLeavesTheClientsEntryAlone() {
    Execution ex = execution();
    ex.execute(batch(1, false, change(7, 1, adding(EPOCH_0, 4)), put(7, 2, "after the command")));
    List<io.pbft.replica.core.Executed.ClientResult> table = ex.clientTable();
    assertEquals(2, table.stream().filter(r -> r.clientId() == 7).findFirst().orElseThrow().timestamp());
    long before = ex.executedRequests();
    Executed again = ex.execute(batch(2, false, put(7, 2, "after the command")));
    assertEquals(before, ex.executedRequests(), "the operation ran once");
    assertEquals(1, again.results().size(), "its cached result is sent again");
    assertEquals(1, ex.epochs().pending().orderedAt(), "and the command was accepted");
  }

  @Test
  void aFetchedStateAndADurableCheckpointCarryThePendingChange() {
    Execution ex = execution();
    ex.execute(batch(1, false, change(7, 1, adding(EPOCH_0, 4))));
    for (long s = 2; s <= 4; s++) {
      ex.execute(batch(s, false, put(0, s, "k" + s)));
    }
    ByteString digest = ex.stateDigest();
    byte[] state = ex.read(new Effects.ReadStateChunk(1, 4, digest, 0, Integer.MAX_VALUE)).data().toByteArray();

    Execution fetching = execution();
    assertTrue(fetching.install(new Effects.InstallState(4, digest, state)).installed());
    assertEquals(ex.epochs().summary(), fetching.epochs().summary());
    assertEquals(digest, fetching.stateDigest());

    Execution lying = execution();
    lying.execute(batch(1, false, put(0, 1, "x")));
    ByteString other = lying.stateDigest();
    assertFalse(lying.install(new Effects.InstallState(4, other, state)).installed(), "the digest does not match");
    assertNull(lying.epochs().pending(), "a refused state leaves the epoch as it was");
    assertEquals(other, lying.stateDigest());

    Execution restarted = execution();
    restarted.recoverAt(4, ex.clientTableBytes());
    assertEquals(ex.epochs().summary(), restarted.epochs().summary());

    Execution plain = execution();
    plain.execute(batch(1, false, put(0, 1, "x")));
    Execution plainRestarted = execution();
    plainRestarted.recoverAt(1, plain.clientTableBytes());
    assertNull(plainRestarted.epochs().pending());
  }

  @Test
  void aTentativeChangeRolledBackIsForgotten() {
    Execution ex = execution();
    ex.execute(batch(1, false, put(0, 1, "a")));
    ex.execute(batch(2, true, change(7, 1, adding(EPOCH_0, 4))));
    assertEquals(2, ex.epochs().pending().orderedAt(), "tentatively accepted");
    ex.execute(batch(2, false, put(0, 2, "b")));
    assertEquals(1, ex.rollbacks());
    assertNull(ex.epochs().pending(), "the batch that committed at 2 holds no change");
    Executed later = ex.execute(batch(3, false, change(7, 1, adding(EPOCH_0, 4))));
    assertTrue(resultOf(later, 7).startsWith(Epochs.ACCEPTED + "epoch 0 -> 1"), "ordered for real now");
    assertEquals(3, ex.epochs().pending().orderedAt());
  }

  // --- the handover ---

  /** Rotates replica {@code id}'s key in {@code current}, signed by administration key 100. */
  private static Reconfiguration rotating(Membership current, int id) {
    Reconfiguration unsigned = Reconfigurations.command(current,
        current.nextRotatingKey(id, keys(200 + (int) current.epoch() * 10 + id).publicKey(), null), "rotate " + id);
    return ReconfigurationSigning.signed(unsigned, keys(100));
  }

  private static Execution handingOver() {
    return new Execution(new KvStateMachine(), CheckpointStore.NONE, new Epochs(EPOCH_0, SETTINGS, true));
  }

  /** The batch at {@code sequence}, naming {@code proposedView} as a handover checkpoint's batch does. */
  private static Effects.Execute proposedIn(long sequence, long proposedView, VerifiedRequest... rs) {
    Effects.Execute plain = batch(sequence, false, rs);
    return new Effects.Execute(sequence, proposedView, plain.requests(), plain.checkpoint(), plain.proposedTimeMs(),
        plain.digest(), false, proposedView);
  }

  @Test
  void theChangeTakesEffectAtItsHandoverCheckpointBeforeItsDigest() {
    Execution ex = handingOver();
    Executed accepted = ex.execute(batch(1, false, change(7, 1, rotating(EPOCH_0, 2))));
    assertEquals(12, accepted.handoverAt(), "the core is told where the epoch ends");
    for (long s = 2; s < 12; s++) {
      assertEquals(12, ex.execute(batch(s, false)).handoverAt());
      assertEquals(0, ex.epochs().summary().epoch(), "still epoch 0 at " + s);
    }
    Executed handover = ex.execute(proposedIn(12, 3));
    assertEquals(1, ex.epochs().summary().epoch(), "epoch 1 from the handover checkpoint on");
    assertNull(ex.epochs().pending());
    assertEquals(12, ex.epochs().beganAt());
    assertEquals(3, ex.epochs().firstView(), "it begins in the view the handover batch was proposed in");
    assertEquals(EPOCH_0, ex.epochs().previous());
    assertArrayEquals(keys(202).publicKey(), ex.epochs().current().member(2).publicKey());
    assertEquals(12, handover.handoverAt(), "the epoch that ends here ends at 12");
    assertEquals(ex.stateDigest(), handover.checkpointDigest(), "the checkpoint certifies the new epoch");
    assertEquals(0, ex.execute(batch(13, false, put(0, 1, "a"))).handoverAt(), "nothing pending in epoch 1");

    // A peer that fetches the state at 12 finds that its epoch ended there.
    ByteString digest = handover.checkpointDigest();
    byte[] state = ex.read(new Effects.ReadStateChunk(1, 12, digest, 0, Integer.MAX_VALUE)).data().toByteArray();
    Execution laggard = handingOver();
    io.pbft.replica.core.StateInstalled installed = laggard.install(new Effects.InstallState(12, digest, state));
    assertTrue(installed.installed());
    assertEquals(12, installed.handoverAt(), "the installed state says its epoch ended at 12");
    assertEquals(1, laggard.epochs().summary().epoch());
    assertEquals(ex.epochs().summary(), copyOf(ex).summary());
  }

  private static Epochs copyOf(Execution ex) {
    Epochs copy = new Epochs(EPOCH_0, SETTINGS, true);
    try {
      copy.decode(ex.epochs().encode());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    assertEquals(ex.epochs().firstView(), copy.firstView());
    assertEquals(ex.epochs().beganAt(), copy.beganAt());
    assertEquals(ex.epochs().previous(), copy.previous());
    return copy;
  }

  @Test
  void aSecondChangeRemembersTheEpochBefore() throws IOException {
    Execution ex = handingOver();
    ex.execute(batch(1, false, change(7, 1, rotating(EPOCH_0, 2))));
    for (long s = 2; s < 12; s++) {
      ex.execute(batch(s, false));
    }
    ex.execute(proposedIn(12, 0));
    Membership epoch1 = ex.epochs().current();
    assertTrue(resultOf(ex.execute(batch(13, false, change(7, 2, rotating(epoch1, 0)))), 7)
        .startsWith(Epochs.ACCEPTED + "epoch 1 -> 2"));
    assertEquals(24, ex.epochs().pending().handoverAt());
    for (long s = 14; s < 24; s++) {
      ex.execute(batch(s, false));
    }
    ex.execute(proposedIn(24, 5));
    assertEquals(2, ex.epochs().summary().epoch());
    assertEquals(epoch1, ex.epochs().previous(), "a restart between the two may resume epoch 1");
    assertEquals(12, ex.epochs().previousBeganAt());
    assertEquals(24, ex.epochs().beganAt());
    assertEquals(5, ex.epochs().firstView());
    copyOf(ex);

    byte[] bytes = ex.epochs().encode();
    Epochs other = new Epochs(EPOCH_0, SETTINGS, true);
    byte[] cut = Arrays.copyOf(bytes, bytes.length - 2);
    assertThrows(IOException.class, () -> other.decode(cut));
    assertEquals(0, other.summary().epoch(), "bytes that do not parse changed nothing");
  }

  /** Orders a rotation of {@code id}'s key at {@code sequence} and runs the batches up to its handover. */
  private static void rotateThrough(Execution ex, long sequence, int id, long timestamp) {
    ex.execute(batch(sequence, false, change(7, timestamp, rotating(ex.epochs().current(), id))));
    long handover = ex.epochs().pending().handoverAt();
    for (long s = sequence + 1; s < handover; s++) {
      ex.execute(batch(s, false));
    }
    ex.execute(proposedIn(handover, 0));
  }

  /**
   * The state keeps every command that began an epoch, so that a client that knows only epoch 0
   * can check its way to the current membership, link by link; the chain travels with the state.
   */
  @Test
  void theStateKeepsTheWholeChainOfChangesFromEpochZero() throws IOException {
    Execution ex = handingOver();
    assertEquals(List.of(), ex.epochs().chain());
    rotateThrough(ex, 1, 2, 1);
    rotateThrough(ex, 13, 0, 2);
    rotateThrough(ex, 25, 3, 3);
    rotateThrough(ex, 37, 2, 4);
    assertEquals(4, ex.epochs().summary().epoch());
    List<ByteString> chain = ex.epochs().summary().chain();
    assertEquals(4, chain.size());
    Membership m = EPOCH_0;
    for (ByteString link : chain) {
      io.pbft.config.ReconfigurationVerdict v = Reconfigurations.validate(m, Reconfiguration.parseFrom(link));
      assertTrue(v.isAccepted(), v.refusal());
      m = v.next();
    }
    assertEquals(ex.epochs().current(), m, "the chain leads from epoch 0 to the current membership");
    assertArrayEquals(keys(200 + 3 * 10 + 2).publicKey(), m.member(2).publicKey());

    Epochs copy = copyOf(ex);
    assertEquals(chain, copy.chain(), "the chain travels with the state");
    byte[] bytes = ex.epochs().encode();
    Epochs other = new Epochs(EPOCH_0, SETTINGS, true);
    assertThrows(IOException.class, () -> other.decode(Arrays.copyOf(bytes, bytes.length - 3)));
    assertEquals(List.of(), other.chain(), "bytes that do not parse changed nothing");
  }

  @Test
  void aNodeThatCarriesOutHandoversAddsAndRemovesMembersAtTheHandover() {
    Execution ex = handingOver();
    String verdict = resultOf(ex.execute(batch(1, false, change(7, 1, adding(EPOCH_0, 4)))), 7);
    assertTrue(verdict.startsWith(Epochs.ACCEPTED + "epoch 0 -> 1 (n = 5, f = 1)"), verdict);
    for (long s = 2; s < 12; s++) {
      ex.execute(batch(s, false));
    }
    ex.execute(proposedIn(12, 2));
    Membership epoch1 = ex.epochs().current();
    assertEquals(List.of(0, 1, 2, 3, 4), epoch1.ids(), "the new member from the handover checkpoint on");
    assertEquals(12, ex.switched().sequence());
    assertEquals(epoch1, ex.switched().membership());

    // One of the original members leaves: its id is not reused, and the others keep theirs.
    Reconfiguration removing = ReconfigurationSigning.signed(
        Reconfigurations.command(epoch1, epoch1.nextRemoving(1), "remove 1"), keys(100));
    String removed = resultOf(ex.execute(batch(13, false, change(7, 2, removing))), 7);
    assertTrue(removed.startsWith(Epochs.ACCEPTED + "epoch 1 -> 2 (n = 4, f = 1)"), removed);
    for (long s = 14; s < 24; s++) {
      ex.execute(batch(s, false));
    }
    ex.execute(proposedIn(24, 0));
    assertEquals(List.of(0, 2, 3, 4), ex.epochs().current().ids());
    assertEquals(5, ex.epochs().current().idBound(), "arrays by id stay sized for id 4");
    assertEquals(ex.epochs().summary(), copyOf(ex).summary(), "the state carries the sparse membership");
  }

  @Test
  void aNodeThatCarriesOutHandoversChangesFOrTheAdministration() {
    Execution ex = handingOver();
    Reconfiguration faults = ReconfigurationSigning.signed(Reconfigurations.command(EPOCH_0,
        EPOCH_0.nextWithFaults(0), "f = 0"), keys(100));
    assertTrue(resultOf(ex.execute(batch(1, false, change(7, 1, faults))), 7).startsWith(Epochs.ACCEPTED),
        "a change of f keeps the members");
  }

  @Test
  void withoutHandoversAChangeStaysPending() {
    Execution ex = execution(); // examining commands alone: nothing switches
    Executed accepted = ex.execute(batch(1, false, change(7, 1, adding(EPOCH_0, 4))));
    assertEquals(0, accepted.handoverAt(), "its core is not stopped at a barrier it cannot cross");
    for (long s = 2; s <= 12; s++) {
      assertEquals(0, ex.execute(batch(s, false)).handoverAt());
    }
    assertEquals(0, ex.epochs().summary().epoch());
    assertEquals(1, ex.epochs().pending().next().epoch(), "pending, as before handovers existed");
  }
}
