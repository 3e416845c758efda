package io.pbft.cli.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.Main;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code pbft chaos sim --seed S --html FILE}: the diagram of a failing run, opened in headless
 * Chromium (Debian's {@code chromium}, which .ci/run installs): its script ran and drew the
 * messages, the violation is marked, and the screenshot shows it in red.
 */
class SpaceTimeDiagramTest {
  /** f + 1 colluding traitors: seed 2 breaks agreement between correct replicas at once. */
  private static final List<String> FAILING_RUN = List.of("chaos", "sim", "--seed", "2", "--replicas", "4",
      "--behaviour", "collusion");

  private static String chromium;

  @TempDir
  Path dir;

  @BeforeAll
  static void findChromium() {
    for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
      for (String p : System.getenv().getOrDefault("PATH", "").split(":")) {
        if (!p.isEmpty() && Files.isExecutable(Path.of(p, name))) {
          chromium = Path.of(p, name).toString();
          return;
        }
      }
    }
    if (System.getenv("PBFT_REQUIRE_CHROMIUM") != null) {
      throw new AssertionError("PBFT_REQUIRE_CHROMIUM is set but no chromium is on the PATH");
    }
    Assumptions.abort("no chromium on the PATH (apt-get install chromium)");
  }

  private static int pbft(List<String> args, StringWriter out) {
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(new StringWriter()));
    return cl.execute(args.toArray(String[]::new));
  }

  /** Runs headless Chromium on the page with {@code args}; returns what it printed to stdout. */
  private String browse(Path page, String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
        "--user-data-dir=" + dir.resolve("profile"), "--window-size=1450,700"));
    command.addAll(List.of(args));
    command.add(page.toUri().toString());
    Path out = dir.resolve("chromium.out");
    Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(dir.resolve("chromium.err").toFile())
        .start();
    try {
      assertTrue(p.waitFor(90, TimeUnit.SECONDS), "chromium did not finish in 90 s");
    } finally {
      p.destroyForcibly();
    }
    return Files.readString(out, StandardCharsets.UTF_8);
  }

  @Test
  void aFailingRunIsDrawnWithItsViolationMarked() throws Exception {
    Path page = dir.resolve("seed-2.html");
    List<String> args = new java.util.ArrayList<>(FAILING_RUN);
    args.addAll(List.of("--html", page.toString()));
    StringWriter out = new StringWriter();
    assertEquals(1, pbft(args, out), out.toString());
    assertTrue(out.toString().contains("diagram:  " + page.toAbsolutePath()), out.toString());
    String html = Files.readString(page);
    Matcher failed = Pattern.compile("FAIL seed 2: (at \\d+ ms: [^<\n]{20,60})").matcher(out.toString());
    assertTrue(failed.find(), out.toString());
    assertTrue(html.contains(failed.group(1)), "the violation heads the page");

    // The page's script ran in a real browser: the DOM after it holds the drawn arrows.
    String dom = browse(page, "--dump-dom");
    Matcher drawn = Pattern.compile("data-drawn=\"(\\d+)\"").matcher(dom);
    assertTrue(drawn.find(), "the script set data-drawn: " + dom.substring(0, Math.min(500, dom.length())));
    int arrows = Integer.parseInt(drawn.group(1));
    assertTrue(arrows > 100, arrows + " messages drawn");
    assertEquals(arrows, count(dom, "class=\"arrow\""), "one line per drawn message");
    assertTrue(dom.contains("id=\"violation-line\""), "the violation's time is marked");
    Matcher named = Pattern.compile("replica (\\d+)").matcher(failed.group(1));
    assertTrue(named.find(), "the violation names a replica: " + failed.group(1));
    assertTrue(dom.contains("fill: #d00; font-weight: bold\">replica " + named.group(1) + "<"),
        "the replicas the violation names are marked");

    // And it is drawn: the screenshot is mostly white, with coloured arrows and the red violation line.
    Path png = dir.resolve("seed-2.png");
    browse(page, "--screenshot=" + png);
    BufferedImage image = ImageIO.read(png.toFile());
    Set<Integer> colours = new HashSet<>();
    int red = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int rgb = image.getRGB(x, y) & 0xffffff;
        colours.add(rgb);
        int r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
        if (r > 180 && g < 60 && b < 60) {
          red++;
        }
      }
    }
    assertTrue(colours.size() > 50, colours.size() + " colours in the screenshot");
    assertTrue(red > 500, red + " red pixels (the violation line and text)");
  }

  @Test
  void htmlNeedsOneSeed() {
    StringWriter out = new StringWriter();
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute("chaos", "sim", "--seeds", "2", "--html", dir.resolve("x.html").toString());
    assertEquals(2, code, out + " " + err);
    assertTrue(err.toString().contains("--html needs --seed"), err.toString());
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + what.length())) {
      n++;
    }
    return n;
  }
}
