package io.pbft.cli.netns;

import io.pbft.cli.CliException;
import io.pbft.testkit.Directories;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real IP network on this machine, made of Linux network namespaces, for replica processes that
 * should talk over something other than loopback. Needs root, iproute2 and iptables (and, for
 * delay, gcc and libnetfilter_queue: {@link PacketDelayer}).
 *
 * <pre>
 *   replica i: namespace PREFIX-r{i}, eth0 10.A.{i+1}.2/24 ─┐
 *                                                          ├─ namespace PREFIX-router (forwards;
 *   this JVM (root namespace): pn{pid}k{k} 10.A.200.2/24 ──┘   every rule lives here)
 * </pre>
 *
 * <p>Every packet between two replicas, or between this JVM's clients and a replica, is forwarded
 * by the router namespace, so its FORWARD chain sees it once: first the partitions (chain {@code
 * PBFT_CUT}, DROP rules: {@link #isolate}, {@link #cut}, {@link #heal}), then the loss (iptables
 * {@code statistic}), then the delay ({@code NFQUEUE} to a {@link PacketDelayer}). The root
 * namespace gets one veth and a route to 10.A.0.0/16 through it, nothing else: no rule of the
 * machine's own firewall changes.
 *
 * <p>Names carry this JVM's pid ({@code pbftns-PID-K-...}), so {@link #create} first removes what a
 * crashed earlier JVM left (namespaces whose pid no longer runs, and the processes in them), and
 * {@link #close} (also run by a shutdown hook) removes the namespaces, with them every veth, route
 * and rule, after stopping the delayer and every process still inside.
 */
public final class NetnsNetwork implements AutoCloseable {
  /** Every name this class makes starts with this, then the pid of the JVM that made it. */
  public static final String PREFIX = "pbftns-";
  private static final Pattern OURS = Pattern.compile("^" + PREFIX + "(\\d+)-\\d+-\\S+");
  private static final int CLIENT_SUBNET = 200;
  private static final int QUEUE = 1;
  private static final AtomicInteger NETWORKS = new AtomicInteger();

  private final String name;
  private final int subnet;
  private final int replicas;
  private final LinkConditions conditions;
  private final Path dir;
  private final Thread hook = new Thread(this::close, "pbft-netns-cleanup");
  private PacketDelayer delayer;
  private boolean closed;

  private NetnsNetwork(String name, int subnet, int replicas, LinkConditions conditions, Path dir) {
    this.name = name;
    this.subnet = subnet;
    this.replicas = replicas;
    this.conditions = conditions;
    this.dir = dir;
  }

  /**
   * Why namespaces cannot be made here (not Linux, not root, a tool missing, or a delayer that
   * cannot be built when {@code conditions} delay), or null if they can.
   */
  public static String unavailable(LinkConditions conditions) {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return "network namespaces need Linux";
    }
    HostCommands.Result id = HostCommands.attempt(List.of("id", "-u"));
    if (!id.ok() || !id.output().trim().equals("0")) {
      return "network namespaces need root (id -u: " + id.output().trim() + ")";
    }
    if (!HostCommands.attempt(List.of("ip", "netns", "list")).ok()) {
      return "'ip netns' does not work (Debian: apt-get install iproute2)";
    }
    if (!HostCommands.attempt(List.of("iptables", "--version")).ok()) {
      return "iptables is not installed (Debian: apt-get install iptables)";
    }
    return conditions.delays() ? PacketDelayer.unavailable() : null;
  }

  /** Namespaces for {@code replicas} replicas and a router, links with {@code conditions}; fails if {@link #unavailable}. */
  public static synchronized NetnsNetwork create(int replicas, LinkConditions conditions) {
    String why = unavailable(conditions);
    if (why != null) {
      throw CliException.failed(why);
    }
    if (replicas < 1 || replicas >= CLIENT_SUBNET) {
      throw new IllegalArgumentException("replicas must lie in 1.." + (CLIENT_SUBNET - 1) + ", got " + replicas);
    }
    removeLeftovers();
    long pid = ProcessHandle.current().pid();
    String name = PREFIX + pid + "-" + NETWORKS.incrementAndGet();
    Path dir;
    try {
      dir = Files.createTempDirectory("pbft-netns-");
    } catch (IOException e) {
      throw CliException.failed("cannot create a temporary directory: " + e.getMessage());
    }
    NetnsNetwork n = new NetnsNetwork(name, freeSubnet(pid), replicas, conditions, dir);
    Runtime.getRuntime().addShutdownHook(n.hook);
    try {
      n.build();
      return n;
    } catch (RuntimeException | Error e) {
      n.close();
      throw e;
    }
  }

  private void build() {
    String router = router();
    ip("netns", "add", router);
    ip("-n", router, "link", "set", "lo", "up");
    in(router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    for (int i = 0; i < replicas; i++) {
      String ns = namespace(i);
      ip("netns", "add", ns);
      ip("-n", ns, "link", "set", "lo", "up");
      ip("link", "add", "name", "r" + i, "netns", router, "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("-n", router, "addr", "add", prefix(i + 1) + ".1/24", "dev", "r" + i);
      ip("-n", ns, "addr", "add", host(i) + "/24", "dev", "eth0");
      ip("-n", router, "link", "set", "r" + i, "up");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "route", "add", "default", "via", prefix(i + 1) + ".1");
    }
    String clientLink = clientLink();
    ip("link", "add", "name", clientLink, "type", "veth", "peer", "name", "clients", "netns", router);
    ip("-n", router, "addr", "add", prefix(CLIENT_SUBNET) + ".1/24", "dev", "clients");
    ip("addr", "add", prefix(CLIENT_SUBNET) + ".2/24", "dev", clientLink);
    ip("-n", router, "link", "set", "clients", "up");
    ip("link", "set", clientLink, "up");
    ip("route", "add", "10." + subnet + ".0.0/16", "via", prefix(CLIENT_SUBNET) + ".1", "dev", clientLink);

    iptables("-N", "PBFT_CUT");
    iptables("-A", "FORWARD", "-j", "PBFT_CUT");
    if (conditions.loss() > 0) {
      iptables("-A", "FORWARD", "-m", "statistic", "--mode", "random", "--probability",
          String.format(Locale.ROOT, "%.6f", conditions.loss()), "-j", "DROP");
    }
    if (conditions.delays()) {
      delayer = PacketDelayer.start(router, QUEUE, conditions.delay(), conditions.jitter(), dir.resolve("delayer.log"));
      iptables("-A", "FORWARD", "-j", "NFQUEUE", "--queue-num", String.valueOf(QUEUE));
    }
  }

  /** The address replica {@code id} listens on, in its own namespace. */
  public String host(int id) {
    checkId(id);
    return prefix(id + 1) + ".2";
  }

  /** The command prefix that runs a program inside replica {@code id}'s namespace. */
  public List<String> enter(int id) {
    checkId(id);
    return List.of("ip", "netns", "exec", namespace(id));
  }

  public LinkConditions conditions() {
    return conditions;
  }

  public int size() {
    return replicas;
  }

  /** Drops every packet to or from replica {@code id} (its peers and the clients) until {@link #heal}. */
  public synchronized void isolate(int id) {
    String subnetOf = prefix(id + 1) + ".0/24";
    iptables("-A", "PBFT_CUT", "-s", subnetOf, "-j", "DROP");
    iptables("-A", "PBFT_CUT", "-d", subnetOf, "-j", "DROP");
  }

  /** Drops every packet between replicas {@code a} and {@code b}, both ways, until {@link #heal}. */
  public synchronized void cut(int a, int b) {
    checkId(a);
    checkId(b);
    iptables("-A", "PBFT_CUT", "-s", host(a), "-d", host(b), "-j", "DROP");
    iptables("-A", "PBFT_CUT", "-s", host(b), "-d", host(a), "-j", "DROP");
  }

  /** Ends every isolation and cut. */
  public synchronized void heal() {
    iptables("-F", "PBFT_CUT");
  }

  /** Throws if the delayer died (its queue's packets would all be dropped, a partition nobody asked for). */
  public synchronized void checkAlive() {
    if (delayer != null && !closed && !delayer.alive()) {
      throw CliException.failed("the packet delayer of " + name + " exited: " + delayer.logText());
    }
  }

  /** Stops the delayer and every process left in the namespaces, then removes them; idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (Thread.currentThread() != hook) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs close() too; it is idempotent
      }
    }
    if (delayer != null) {
      delayer.close();
    }
    for (String ns : namespaces()) {
      remove(ns);
    }
    Directories.deleteRecursively(dir);
  }

  // ---------------------------------------------------------------- names and commands

  private String router() {
    return name + "-router";
  }

  private String namespace(int id) {
    return name + "-r" + id;
  }

  /** The root namespace's end of the clients' link: interface names have 15 characters at most. */
  private String clientLink() {
    return "pn" + name.substring(PREFIX.length()).replace('-', 'k');
  }

  private List<String> namespaces() {
    List<String> all = new ArrayList<>();
    all.add(router());
    for (int i = 0; i < replicas; i++) {
      all.add(namespace(i));
    }
    return all;
  }

  private String prefix(int third) {
    return "10." + subnet + "." + third;
  }

  private void checkId(int id) {
    if (id < 0 || id >= replicas) {
      throw new IllegalArgumentException("no replica " + id + " in a network of " + replicas);
    }
  }

  private static void ip(String... args) {
    List<String> command = new ArrayList<>(List.of("ip"));
    command.addAll(List.of(args));
    HostCommands.run(command);
  }

  private static void in(String ns, String... args) {
    List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    command.addAll(List.of(args));
    HostCommands.run(command);
  }

  private void iptables(String... args) {
    List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", router(), "iptables", "-w"));
    command.addAll(List.of(args));
    HostCommands.run(command);
  }

  /** Kills what still runs in namespace {@code ns} (SIGKILL) and deletes it, ignoring what is already gone. */
  private static void remove(String ns) {
    HostCommands.Result pids = HostCommands.attempt(List.of("ip", "netns", "pids", ns));
    if (pids.ok()) {
      List<ProcessHandle> inside = new ArrayList<>();
      for (String pid : pids.output().trim().split("\\s+")) {
        if (pid.matches("\\d+")) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(inside::add);
        }
      }
      inside.forEach(ProcessHandle::destroyForcibly);
      // the namespace, with its veths and routes, goes only when its last process has gone
      for (ProcessHandle p : inside) {
        try {
          p.onExit().get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
          // deleted below all the same; the kernel finishes when the process is gone
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    HostCommands.attempt(List.of("ip", "netns", "del", ns));
  }

  /** Removes namespaces named by this class for a JVM that no longer runs (a crashed earlier run). */
  private static void removeLeftovers() {
    HostCommands.Result list = HostCommands.attempt(List.of("ip", "netns", "list"));
    if (!list.ok()) {
      return;
    }
    for (String line : list.output().split("\n")) {
      Matcher m = OURS.matcher(line.trim());
      if (m.find() && !ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
        remove(line.trim().split("\\s+")[0]);
      }
    }
  }

  /** A second octet in 200..249 that no route of the root namespace uses yet. */
  private static int freeSubnet(long pid) {
    String routes = HostCommands.run(List.of("ip", "-4", "route", "show", "table", "all"))
        + HostCommands.run(List.of("ip", "-4", "addr"));
    for (int k = 0; k < 50; k++) {
      int candidate = 200 + (int) ((pid + k) % 50);
      if (!routes.contains("10." + candidate + ".")) {
        return candidate;
      }
    }
    throw CliException.failed("no free 10.200-249.0.0/16 subnet for the namespaces' network");
  }

  @Override
  public String toString() {
    return name + " (10." + subnet + ".0.0/16, " + replicas + " replicas, " + conditions + ")";
  }
}
