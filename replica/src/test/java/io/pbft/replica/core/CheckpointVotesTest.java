package io.pbft.replica.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.ByteString;
import io.pbft.proto.SignedMessage;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A faulty replica can sign two digests for one checkpoint. Its bogus vote, arriving first, must
 * not keep its genuine one, relayed later in another replica's stable proof, from completing the
 * quorum: the replica that needs that proof (it missed slots the others have discarded) would
 * never fetch the state and stay behind for good.
 */
class CheckpointVotesTest {
  private static final ByteString GENUINE = ByteString.copyFromUtf8("genuine state digest");
  private static final ByteString BOGUS = ByteString.copyFromUtf8("bogus state digest");

  private static SignedMessage signed(int sender, ByteString digest) {
    return SignedMessage.newBuilder().setSender(sender).setPayload(digest).build();
  }

  @Test
  void aLaterVoteThatAgreesWithTheOthersReplacesAConflictingFirstOne() {
    CheckpointVotes votes = new CheckpointVotes();
    votes.record(0, 144, BOGUS, signed(0, BOGUS)); // the faulty replica's first vote
    votes.record(2, 144, GENUINE, signed(2, GENUINE));
    votes.record(3, 144, GENUINE, signed(3, GENUINE));
    assertNull(votes.highestWithQuorum(3), "two genuine votes are not a quorum of three");

    votes.record(0, 144, GENUINE, signed(0, GENUINE)); // its genuine vote, relayed in a stable proof
    Map.Entry<Long, ByteString> stable = votes.highestWithQuorum(3);
    assertEquals(Map.entry(144L, GENUINE), stable);
    assertEquals(3, votes.matching(144, GENUINE).size());
    assertEquals(GENUINE, votes.digestOf(0, 144));
  }

  @Test
  void aConflictingVoteWithNoMoreSupportDoesNotReplaceTheFirst() {
    CheckpointVotes votes = new CheckpointVotes();
    votes.record(0, 144, GENUINE, signed(0, GENUINE));
    votes.record(2, 144, GENUINE, signed(2, GENUINE));
    votes.record(0, 144, BOGUS, signed(0, BOGUS)); // nobody else voted for it: kept out
    assertEquals(GENUINE, votes.digestOf(0, 144));

    votes.record(3, 144, BOGUS, signed(3, BOGUS)); // one other for BOGUS, one other for GENUINE: a tie
    votes.record(0, 144, BOGUS, signed(0, BOGUS));
    assertEquals(GENUINE, votes.digestOf(0, 144), "a tie keeps the vote recorded first");
    assertEquals(2, votes.matching(144, GENUINE).size());
    assertEquals(1, votes.matching(144, BOGUS).size(), "one vote per replica");
  }
}
