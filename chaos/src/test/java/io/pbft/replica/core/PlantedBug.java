package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.execution.PlantedExecutionBugs;
import java.util.ArrayList;
import java.util.List;

/**
 * Deliberate protocol bugs that the chaos harness must catch, each one rule of {@link Rules} (or
 * of the executor's ExecutionRules) broken. They live in test code, in the core's package (a split package, fine on the class
 * path): the shipped core has no way to run anything but {@link Rules#PAPER}.
 */
enum PlantedBug {
  /** prepared() with one matching prepare fewer than a quorum needs (2f - 1 instead of 2f). */
  PREPARE_QUORUM_TOO_SMALL(new Rules() {
    @Override
    int preparesNeeded(int quorum) {
      return quorum - 2;
    }
  }),
  /** committed-local with one matching commit fewer than a quorum (2f instead of 2f + 1). */
  COMMIT_QUORUM_TOO_SMALL(new Rules() {
    @Override
    int commitsNeeded(int quorum) {
      return quorum - 1;
    }
  }),
  /** A pre-prepare accepted from a replica that is not the primary of its view. */
  PRE_PREPARE_FROM_ANYONE(new Rules() {
    @Override
    boolean prePrepareSenderValid(int sender, int primaryOfView) {
      return true;
    }
  }),
  /** A NEW-VIEW accepted without recomputing its pre-prepares from its VIEW-CHANGEs. */
  NEW_VIEW_NOT_RECOMPUTED(new Rules() {
    @Override
    ViewChangeRules.Plan newViewPlan(ViewChangeRules.Plan recomputed, List<SignedMessage> given,
        ViewChangeRules rules) {
      List<ViewChangeRules.Planned> planned = new ArrayList<>();
      for (SignedMessage m : given) {
        try {
          var pp = ViewChangeRules.parse(m).getPrePrepare();
          planned.add(new ViewChangeRules.Planned(pp.getSequence(), pp.getDigest(), pp.getBatch(),
              ViewChangeRules.requestsOf(pp.getBatch()), pp.getTimeMs()));
        } catch (ViewChangeRules.Invalid e) {
          return recomputed;
        }
      }
      return new ViewChangeRules.Plan(recomputed.stableSequence(), recomputed.stableDigest(),
          recomputed.checkpointProof(), planned);
    }
  }),
  /** A prepare counted towards prepared even when its digest differs from the pre-prepare's. */
  PREPARE_DIGEST_NOT_CHECKED(new Rules() {
    @Override
    int countPrepares(Slot slot) {
      return (int) slot.prepares.values().stream().filter(p -> p.view() == slot.view).count();
    }
  }),
  /** A second, different pre-prepare accepted for a (view, sequence number) that has one. */
  CONFLICTING_PRE_PREPARE_ACCEPTED(new Rules() {
    @Override
    boolean prePrepareAlreadyAccepted(Slot slot, long view, ByteString digest) {
      return slot.hasPrePrepare() && slot.view == view && slot.digest.equals(digest);
    }
  }),
  /** A VIEW-CHANGE's prepared certificates taken at their word, without any check. */
  VIEW_CHANGE_CERTIFICATES_NOT_CHECKED(new Rules() {
    @Override
    ViewChangeRules.Prepared checkedCertificate(ViewChangeRules certificates, PreparedCertificate cert,
        long newView) throws ViewChangeRules.Invalid {
      PrePrepare pp = ViewChangeRules.parse(cert.getPrePrepare()).getPrePrepare();
      return new ViewChangeRules.Prepared(pp.getView(), pp.getSequence(), pp.getDigest(), pp.getBatch(),
          ViewChangeRules.requestsOf(pp.getBatch()), pp.getTimeMs());
    }
  }),
  /**
   * A PREPARE or COMMIT filed under the replica it names without checking that replica signed it,
   * so one replica's votes count in several places.
   */
  VOTES_COUNTED_TWICE(new Rules() {
    @Override
    boolean voteSignedByVoter(int signer, int named) {
      return true;
    }
  }),
  /** A committed certificate (catch-up) accepted with 2f COMMITs instead of 2f + 1. */
  COMMITTED_CERTIFICATE_TOO_THIN(new Rules() {
    @Override
    int committedCertificateCommitsNeeded(int quorum) {
      return quorum - 1;
    }
  }),
  /**
   * A batch run on f replicas' claims that they committed it (catch-up under {@code
   * authentication: macs}) instead of f + 1: one faulty replica's word.
   */
  COMMITTED_CLAIMS_TOO_FEW(new Rules() {
    @Override
    int committedClaimsNeeded(int f) {
      return f;
    }
  }),
  /** A checkpoint made stable with 2f matching CHECKPOINTs instead of 2f + 1. */
  CHECKPOINT_QUORUM_TOO_SMALL(new Rules() {
    @Override
    int checkpointVotesNeeded(int quorum) {
      return quorum - 1;
    }
  }),
  /** A VIEW-CHANGE's stable checkpoint taken at its word, without checking its proof. */
  VIEW_CHANGE_CHECKPOINT_PROOF_NOT_CHECKED(new Rules() {
    @Override
    void checkedCheckpointProof(ViewChangeRules certificates, long sequence, ByteString digest,
        List<SignedMessage> proof) {
    }
  }),
  /** A NEW-VIEW accepted from a replica that is not the primary of the view it opens. */
  NEW_VIEW_FROM_ANYONE(new Rules() {
    @Override
    boolean newViewSenderValid(int sender, int primaryOfView) {
      return true;
    }
  }),
  /** The NEW-VIEW computed from the certificate of the lowest view for a sequence number, not the highest. */
  LOWEST_VIEW_CERTIFICATE_CHOSEN(new Rules() {
    @Override
    boolean certificateOutranks(ViewChangeRules.Prepared candidate, ViewChangeRules.Prepared best) {
      return candidate.view() < best.view();
    }
  }),
  /**
   * The MAC view change choosing a batch claimed prepared on the claimer's word alone (rule A2
   * with one VIEW-CHANGE instead of f + 1 saying they pre-prepared it).
   */
  MAC_CLAIM_CHOSEN_WITHOUT_PRE_PREPARES(new Rules() {
    @Override
    int prePreparedBackingNeeded(int f) {
      return 1;
    }
  }),
  /** A batch prepared at once though this replica could not authenticate a request in it. */
  UNAUTHENTICATED_REQUESTS_PREPARED(new Rules() {
    @Override
    boolean requestAuthenticatedHere(io.pbft.replica.verify.VerifiedRequest r, Requests requests) {
      return true;
    }
  }),
  /**
   * MACs: a request in a pre-prepare counted as the one its client sent this replica when the
   * client sent one with the same client id and timestamp, whatever its operation (requests are
   * known by id and timestamp everywhere else), so the client's own copy vouches for what the
   * primary put in its place.
   */
  HELD_REQUEST_MATCHED_BY_TIMESTAMP(new Rules() {
    @Override
    boolean sameRequest(io.pbft.replica.verify.VerifiedRequest fromClient,
        io.pbft.replica.verify.VerifiedRequest proposed) {
      return fromClient.clientId() == proposed.clientId() && fromClient.timestamp() == proposed.timestamp();
    }
  }),
  /**
   * MACs: a request relayed by a backup ordered by the primary at once though its own entry does
   * not check, as if the relaying backup's check were enough (f + 1 relays needed: the relaying
   * backup may be the faulty one).
   */
  RELAYED_REQUEST_TRUSTED(new Rules() {
    @Override
    int relaysNeeded(int f, boolean authenticatedHere, boolean clientSuspected) {
      return clientSuspected ? f : 0;
    }
  }),
  /**
   * MACs: a primary orders a suspected client's request at once, without waiting for f backups
   * to relay it, so a client whose authenticators check at the primary only stalls a batch in
   * every view: the core as it was before clients were suspected, when such a client starved an
   * honest one for good (ByzantineClientSimulationTest's seeds 2097 and 1271 fail with this bug).
   */
  SUSPECTED_CLIENTS_ORDERED_AT_ONCE(new Rules() {
    @Override
    int relaysNeeded(int f, boolean authenticatedHere, boolean clientSuspected) {
      return authenticatedHere ? 0 : f + 1;
    }
  }),
  /**
   * Agreement goes on in a view this replica left: its PREPAREs and COMMITs accepted, and its slots
   * prepared, after this replica sent its VIEW-CHANGE.
   */
  OLD_VIEW_VOTES_AFTER_VIEW_CHANGE(new Rules() {
    @Override
    boolean voteForLeftView(long voteView, long currentView) {
      return false;
    }

    @Override
    boolean agreesInView(long slotView, ReplicaState state) {
      return true;
    }
  }),
  /**
   * A backup accepts whatever time the primary proposes with a batch, however far from its own
   * clock: a primary with a wild clock moves the agreed time where it likes.
   */
  CLOCK_NOT_CHECKED(new Rules() {
    @Override
    boolean proposedTimeAcceptable(long proposedMs, long nowMs, int skewMs, long stalledSinceMs) {
      return true;
    }
  }),
  /** A request executed again although its timestamp is not above its client's last executed one. */
  EXACTLY_ONCE_SKIPPED(Rules.PAPER, PlantedExecutionBugs.exactlyOnceSkipped()),
  /** A state fetched from peers installed without checking its digest against the certified one. */
  STATE_DIGEST_NOT_CHECKED(Rules.PAPER, PlantedExecutionBugs.stateDigestNotChecked()),
  /** A client that accepts a result on f matching replies instead of f + 1 (one liar is enough). */
  CLIENT_ACCEPTS_F_REPLIES(Rules.PAPER, Execution::new, b -> b.clientRepliesNeeded(b.build().f())),
  /**
   * A client that accepts a read-only result on f + 1 matching answers instead of 2f + 1: a liar
   * and a correct replica that lags agree on a value overwritten before the read began.
   */
  CLIENT_ACCEPTS_F_PLUS_ONE_READ_ANSWERS(Rules.PAPER, Execution::new,
      b -> b.readRepliesNeeded(b.build().f() + 1));

  private final Rules rules;
  private final SimulationConfig.ExecutionFactory executions;
  private final java.util.function.Consumer<SimulationConfig.Builder> clients;

  PlantedBug(Rules rules) {
    this(rules, Execution::new);
  }

  PlantedBug(Rules rules, SimulationConfig.ExecutionFactory executions) {
    this(rules, executions, b -> { });
  }

  PlantedBug(Rules rules, SimulationConfig.ExecutionFactory executions,
      java.util.function.Consumer<SimulationConfig.Builder> clients) {
    this.rules = rules;
    this.executions = executions;
    this.clients = clients;
  }

  /** Plants this bug in the simulated clients, if it is one of theirs. */
  void plantInClients(SimulationConfig.Builder b) {
    clients.accept(b);
  }

  /** Builds executors that run with this bug (the paper's, for a bug of the core). */
  SimulationConfig.ExecutionFactory executions() {
    return executions;
  }

  /** Builds cores that run with this bug. */
  SimulationConfig.CoreFactory cores() {
    return (id, n, f, settings, signer, knownClient) -> new ReplicaCore(id, n, f, settings, signer, knownClient, rules);
  }
}
