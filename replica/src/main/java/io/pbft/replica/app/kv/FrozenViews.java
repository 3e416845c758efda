package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;
import io.pbft.replica.app.StateMachine;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Copy-on-write frozen views of an in-memory sorted map. Freezing costs nothing; afterwards the
 * first change of each key saves the value it had, in the newest view. The value a key had when
 * view i was frozen is the first one saved by view i, i + 1, ... (or the current one), so a view
 * costs memory proportional to what changed since it was frozen, not to the size of the map.
 */
final class FrozenViews {
  /** Marks a key that was absent when the view was frozen. */
  private static final ByteString ABSENT = ByteString.copyFromUtf8("\\u0000absent");

  private final NavigableMap<ByteString, ByteString> live;
  private final List<View> views = new ArrayList<>(); // oldest first

  FrozenViews(NavigableMap<ByteString, ByteString> live) {
    this.live = live;
  }

  /** Call before {@code key} changes in the live map. */
  void beforeChange(ByteString key) {
    if (views.isEmpty()) {
      return;
    }
    View newest = views.get(views.size() - 1);
    if (!newest.saved.containsKey(key)) {
      ByteString old = live.get(key);
      newest.saved.put(key, old == null ? ABSENT : old);
    }
  }

  /** Before the whole live map is replaced: every view serializes itself now. */
  void beforeReplace() {
    for (View v : views) {
      v.materialize();
    }
    for (View v : views) {
      v.saved.clear();
    }
  }

  StateMachine.Frozen freeze() {
    View v = new View();
    views.add(v);
    return v;
  }

  int count() {
    return views.size();
  }

  private final class View implements StateMachine.Frozen {
    final Map<ByteString, ByteString> saved = new HashMap<>();
    byte[] bytes;
    boolean released;

    @Override
    public byte[] bytes() {
      if (bytes == null) {
        materialize();
      }
      return bytes;
    }

    void materialize() {
      if (bytes != null || released) {
        return;
      }
      int index = views.indexOf(this);
      TreeMap<ByteString, ByteString> overlay = new TreeMap<>(KvSnapshotFormat.KEY_ORDER);
      for (int j = views.size() - 1; j >= index; j--) {
        overlay.putAll(views.get(j).saved); // older views override: their values are older
      }
      List<Map.Entry<ByteString, ByteString>> merged = new ArrayList<>();
      var liveIt = live.entrySet().iterator();
      var overlayIt = overlay.entrySet().iterator();
      Map.Entry<ByteString, ByteString> l = liveIt.hasNext() ? liveIt.next() : null;
      Map.Entry<ByteString, ByteString> o = overlayIt.hasNext() ? overlayIt.next() : null;
      while (l != null || o != null) {
        int cmp = l == null ? 1 : o == null ? -1 : KvSnapshotFormat.KEY_ORDER.compare(l.getKey(), o.getKey());
        if (cmp < 0) {
          merged.add(l);
          l = liveIt.hasNext() ? liveIt.next() : null;
        } else {
          if (o.getValue() != ABSENT) {
            merged.add(o);
          }
          if (cmp == 0) {
            l = liveIt.hasNext() ? liveIt.next() : null;
          }
          o = overlayIt.hasNext() ? overlayIt.next() : null;
        }
      }
      KvSnapshotFormat.Writer writer = new KvSnapshotFormat.Writer(merged.size());
      for (Map.Entry<ByteString, ByteString> e : merged) {
        writer.entry(e.getKey(), e.getValue());
      }
      bytes = writer.finish();
    }

    @Override
    public void release() {
      if (released) {
        return;
      }
      released = true;
      int index = views.indexOf(this);
      views.remove(index);
      if (index > 0) {
        // The view before this one reads through our saved values: hand them down.
        Map<ByteString, ByteString> previous = views.get(index - 1).saved;
        saved.forEach(previous::putIfAbsent);
      }
      saved.clear();
      bytes = null;
    }
  }
}
