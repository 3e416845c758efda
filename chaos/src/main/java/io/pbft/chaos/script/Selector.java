package io.pbft.chaos.script;

import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.ReplicaMessage.BodyCase;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which messages in flight a {@code deliver} or {@code drop} means: a route ({@code 0->2},
 * {@code 0->*}, {@code *->3}), kinds ({@code prepare}, {@code !heartbeat} for all but), the view
 * and sequence number they name ({@code v=1 n=3}), the digest they carry as printed ({@code d=d36737},
 * {@code d=null}), a message id ({@code id=1a2b3c4d}: one copy of it) and at most
 * how many ({@code limit=1}). Anything left out matches everything.
 */
record Selector(int from, int to, Set<BodyCase> kinds, Set<BodyCase> excluded, Long view, Long sequence,
    String digest, String id, int limit) {

  static final int ANY = -1;

  static Selector parse(Command c, List<String> words) {
    int from = ANY;
    int to = ANY;
    Set<BodyCase> kinds = EnumSet.noneOf(BodyCase.class);
    Set<BodyCase> excluded = EnumSet.noneOf(BodyCase.class);
    for (String w : words) {
      if (w.contains("->")) {
        String[] ends = w.split("->", -1);
        from = ends[0].equals("*") ? ANY : Command.replica(ends[0]);
        to = ends[1].equals("*") ? ANY : Command.replica(ends[1]);
      } else if (w.startsWith("!")) {
        excluded.add(kind(w.substring(1)));
      } else {
        kinds.add(kind(w));
      }
    }
    Long view = c.has("v") ? Command.parseLong("v", c.options().get("v")) : null;
    Long sequence = c.has("n") ? Command.parseLong("n", c.options().get("n")) : null;
    // A message named by its id is one delivery of it (a copy sent twice is delivered twice).
    int limit = (int) c.longOption("limit", c.has("id") ? 1 : Integer.MAX_VALUE);
    return new Selector(from, to, kinds, excluded, view, sequence, c.options().get("d"), c.options().get("id"), limit);
  }

  /** "pre-prepare", "view-change", "forwarded", ...: a kind of replica message. */
  static BodyCase kind(String word) {
    String w = word.toUpperCase(Locale.ROOT).replace('-', '_');
    if (w.equals("FORWARDED")) {
      return BodyCase.FORWARDED_REQUEST;
    }
    try {
      BodyCase k = BodyCase.valueOf(w);
      if (k != BodyCase.BODY_NOT_SET) {
        return k;
      }
    } catch (IllegalArgumentException e) {
      // falls through
    }
    throw new ScriptError("unknown message kind or selector: " + word);
  }

  boolean matches(InFlight.Entry e) {
    if ((from != ANY && e.from() != from) || (to != ANY && e.to() != to) || (id != null && !e.id().startsWith(id))) {
      return false;
    }
    BodyCase k = e.body() == null ? BodyCase.BODY_NOT_SET : e.body().getBodyCase();
    if ((!kinds.isEmpty() && !kinds.contains(k)) || excluded.contains(k)) {
      return false;
    }
    return (view == null || view.equals(viewOf(e.body()))) && (sequence == null || sequence.equals(sequenceOf(e.body())))
        && (digest == null || digestOf(e.body()).startsWith(digest));
  }

  private static String digestOf(ReplicaMessage m) {
    if (m == null) {
      return "";
    }
    return switch (m.getBodyCase()) {
      case PRE_PREPARE -> Describe.digest(m.getPrePrepare().getDigest());
      case PREPARE -> Describe.digest(m.getPrepare().getDigest());
      case COMMIT -> Describe.digest(m.getCommit().getDigest());
      case CHECKPOINT -> Describe.digest(m.getCheckpoint().getStateDigest());
      default -> "";
    };
  }

  private static Long viewOf(ReplicaMessage m) {
    if (m == null) {
      return null;
    }
    return switch (m.getBodyCase()) {
      case PRE_PREPARE -> m.getPrePrepare().getView();
      case PREPARE -> m.getPrepare().getView();
      case COMMIT -> m.getCommit().getView();
      case VIEW_CHANGE -> m.getViewChange().getNewView();
      case NEW_VIEW -> m.getNewView().getView();
      case HEARTBEAT -> m.getHeartbeat().getView();
      default -> null;
    };
  }

  private static Long sequenceOf(ReplicaMessage m) {
    if (m == null) {
      return null;
    }
    return switch (m.getBodyCase()) {
      case PRE_PREPARE -> m.getPrePrepare().getSequence();
      case PREPARE -> m.getPrepare().getSequence();
      case COMMIT -> m.getCommit().getSequence();
      case CHECKPOINT -> m.getCheckpoint().getSequence();
      case FETCH_STATE -> m.getFetchState().getSequence();
      case STATE_CHUNK -> m.getStateChunk().getSequence();
      case COMMITTED -> {
        ReplicaMessage pp = Describe.parse(m.getCommitted().getPrePrepare());
        yield pp == null ? null : pp.getPrePrepare().getSequence();
      }
      default -> null;
    };
  }
}
