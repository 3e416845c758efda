package io.pbft.chaos.script;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.KvOperation;
import io.pbft.replica.app.kv.KvOperations;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Operations as scripts write them: {@code put(a,1)}, {@code get(a)}, {@code delete(a)},
 * {@code cas(a,1,2)} ({@code cas(a,-,2)}: only if a is absent) for the key-value store, and
 * {@code hex:...} for raw operation bytes. An argument {@code x*600} stands for 600 x's (a large
 * value, to make state transfer take several chunks).
 */
final class Ops {
  private static final Pattern CALL = Pattern.compile("(put|get|delete|cas)\\(([^)]*)\\)");
  private static final Pattern REPEAT = Pattern.compile("(.)\\*(\\d+)");
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./:-]+");

  private Ops() {}

  static byte[] encode(String op) {
    if (op.startsWith("hex:")) {
      try {
        return Digests.fromHex(op.substring(4));
      } catch (IllegalArgumentException e) {
        throw new ScriptError("bad hex operation: " + op);
      }
    }
    Matcher m = CALL.matcher(op);
    if (!m.matches()) {
      throw new ScriptError("unknown operation " + op + " (put(k,v), get(k), delete(k), cas(k,old,new), hex:..)");
    }
    String[] args = m.group(2).isEmpty() ? new String[0] : m.group(2).split(",", -1);
    int wanted = switch (m.group(1)) {
      case "put" -> 2;
      case "cas" -> 3;
      default -> 1;
    };
    if (args.length != wanted) {
      throw new ScriptError(m.group(1) + " takes " + wanted + " arguments: " + op);
    }
    return switch (m.group(1)) {
      case "put" -> KvOperations.put(arg(args[0]), arg(args[1]));
      case "get" -> KvOperations.get(arg(args[0]));
      case "delete" -> KvOperations.delete(arg(args[0]));
      default -> KvOperations.cas(arg(args[0]), args[1].equals("-") ? null : arg(args[1]), arg(args[2]));
    };
  }

  private static byte[] arg(String a) {
    Matcher m = REPEAT.matcher(a);
    if (m.matches()) {
      return m.group(1).repeat(Integer.parseInt(m.group(2))).getBytes(StandardCharsets.UTF_8);
    }
    return a.getBytes(StandardCharsets.UTF_8);
  }

  /** How a script writes {@code op}: the key-value form if it encodes back to the same bytes. */
  static String describe(byte[] op) {
    String kv = kv(op);
    if (kv != null && Arrays.equals(encode(kv), op)) {
      return kv;
    }
    return "hex:" + Digests.hex(op);
  }

  private static String kv(byte[] op) {
    KvOperation k;
    try {
      k = KvOperation.parseFrom(op);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
    return switch (k.getOpCase()) {
      case PUT -> plain(k.getPut().getKey(), k.getPut().getValue()) ? "put(" + text(k.getPut().getKey()) + ","
          + text(k.getPut().getValue()) + ")" : null;
      case GET -> plain(k.getGet().getKey()) ? "get(" + text(k.getGet().getKey()) + ")" : null;
      case DELETE -> plain(k.getDelete().getKey()) ? "delete(" + text(k.getDelete().getKey()) + ")" : null;
      case CAS -> {
        var c = k.getCas();
        boolean absent = c.getExpectedAbsent() && c.getExpected().isEmpty();
        yield plain(c.getKey(), c.getNewValue()) && (absent || plain(c.getExpected()))
            ? "cas(" + text(c.getKey()) + "," + (absent ? "-" : text(c.getExpected())) + "," + text(c.getNewValue())
                + ")"
            : null;
      }
      default -> null;
    };
  }

  private static boolean plain(ByteString... parts) {
    for (ByteString p : parts) {
      if (!PLAIN.matcher(p.toStringUtf8()).matches() || p.toStringUtf8().equals("-")
          || REPEAT.matcher(p.toStringUtf8()).matches()) {
        return false;
      }
    }
    return true;
  }

  private static String text(ByteString b) {
    return b.toStringUtf8();
  }
}
