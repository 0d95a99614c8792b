"""Every control on every page of the built book works without a kernel, and the views show the
package's numbers.

Run after `make book` (`make test-browser`), offline like the other browser tests. On each page:

* no ipywidgets control is displayed: the book has no kernel behind it, so a slider or a text box
  would do nothing (progress bars are fine);
* every control inside a cell's output (input, select, textarea, button, anything focusable) belongs
  to a course_attn view (`.ca-view`), and operating it (keys and a mouse drag on a slider, every
  option of a menu, hover, click and Enter on a token or button) changes the view's figure: a control
  that changes nothing fails;
* each view shows the numbers course_attn computes (MiniLM's attention, softmax(q · k / τ), the
  position schemes), read back from the page and recomputed here;
* each view fits the page's width and keeps its text readable in dark mode.

Screenshots: _build/browser/views__<page>__<control>.png and views__<page>__dark.png.
"""

from __future__ import annotations

import json
import math
import os
import re

import pytest
import torch
import torch.nn.functional as F

from _book import PAGES, SHOTS, open_page

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# What a reader can operate. A <pre> with tabindex is a scrollable output the theme lets the keyboard scroll.
CONTROLS = ("input, select, textarea, button, [contenteditable='true'], [role=button], [role=slider], "
            "[tabindex]:not([tabindex='-1']):not(pre)")
WIDGET_CONTROLS = re.compile(r"(Slider|Combobox|Text|Textarea|Dropdown|Button|Checkbox|Select|SelectMultiple|"
                             r"RadioButtons|ToggleButtons?|Play|Picker|Password|Controller|Upload|Valid)Model$")
# The view's figure as a short fingerprint: its markup (without the test's own tags) and the pixels of
# its canvases, hashed in the page (FNV-1a) so that a snapshot costs no transfer.
SNAPSHOT = """root => {
    let h = 0x811c9dc5, n = 0;
    const add = x => { h ^= x; h = Math.imul(h, 0x01000193) >>> 0; n++; };
    for (const f of root.querySelectorAll('[data-figure]')) {
        const text = f.innerHTML.replace(/ data-ca-test="\\d+"/g, '');
        for (let i = 0; i < text.length; i++) add(text.charCodeAt(i));
        for (const c of f.querySelectorAll('canvas')) {
            add(c.width); add(c.height);
            if (c.width && c.height) for (const b of c.getContext('2d').getImageData(0, 0, c.width, c.height).data) add(b);
        }
    }
    return n + ':' + h;
}"""
# Give every control of a view a number (new ones appear when a sentence changes); return the
# numbers of the visible ones.
TAG = """(root, sel) => {
    root.dataset.caNext = root.dataset.caNext || "0";
    return Array.from(root.querySelectorAll(sel)).filter(e => {
        if (!e.dataset.caTest) { e.dataset.caTest = root.dataset.caNext; root.dataset.caNext = String(Number(root.dataset.caNext) + 1); }
        return e.getClientRects().length > 0;
    }).map(e => [Number(e.dataset.caTest), e.tagName.toLowerCase(), e.type || "", e.className || "",
                 e.closest('label') ? e.closest('label').firstChild.textContent
                 : e.getAttribute('aria-label') || e.textContent || ""]);
}"""
DISPLAYED = re.compile(r"[^a-z0-9]+")


def page_name(name):
    return name.removesuffix(".html").replace("/", "__")


def shot_name(text):
    return DISPLAYED.sub("-", text.lower()).strip("-")[:40] or "control"


def data_of(view):
    return json.loads(view.locator("script.ca-view-data").text_content())


def decode(matrix):
    from course_attn.views._page import decode
    return decode(matrix)


@pytest.fixture(scope="module")
def minilm():
    import course_attn as ca
    return ca.pretrained.load_minilm()


# --- every page: no dead ipywidgets, every control works --------------------------------------------


def displayed_widget_controls(page):
    """Model names of ipywidgets controls displayed on the page (a view, or inside a displayed box)."""
    state = {}
    for text in page.locator('script[type="application/vnd.jupyter.widget-state+json"]').all_text_contents():
        state.update(json.loads(text).get("state", {}))
    found, todo = [], [json.loads(t)["model_id"] for t in
                       page.locator('script[type="application/vnd.jupyter.widget-view+json"]').all_text_contents()]
    while todo:
        model = state.get(todo.pop(), {})
        name = model.get("model_name", "")
        if WIDGET_CONTROLS.search(name):
            found.append(name)
        todo += [c.removeprefix("IPY_MODEL_") for c in model.get("state", {}).get("children", [])]
    return found


class Figure:
    """Operates the controls of one view and checks that each one changes the view's figure."""

    def __init__(self, page, view, name):
        self.page, self.view, self.name, self.done, self.shots = page, view, name, set(), set()

    def snapshot(self):
        return self.view.evaluate(SNAPSHOT)

    def visible(self):
        return self.view.evaluate(TAG, CONTROLS)

    def control(self, number):
        return self.view.locator(f'[data-ca-test="{number}"]')

    def neutral(self):
        self.page.mouse.move(1, 1)

    def changes(self, action, what, number=None):
        """``action()`` must change the figure. If it did not, and ``number`` is given, the control
        may already have been at that setting: move another slider and try once more (a dead
        control fails both times)."""
        self.neutral()
        before = self.snapshot()
        action()
        after = self.snapshot()
        if after == before and number is not None:
            self.perturb(number, what)
            return self.changes(action, what)
        assert after != before, f"{self.name}: {what} changes nothing on the page"

    def perturb(self, number, what):
        sliders = [c for c in self.visible() if c[2] == "range" and c[0] != number]
        assert sliders, f"{self.name}: {what} changed nothing and no other control can move"
        handle = self.control(sliders[0][0])
        handle.focus()
        handle.press("ArrowLeft" if handle.evaluate("e => Number(e.value) >= Number(e.max)") else "ArrowRight")

    def screenshot(self, label):
        if label not in self.shots:
            self.shots.add(label)
            SHOTS.mkdir(parents=True, exist_ok=True)
            self.view.screenshot(path=SHOTS / f"views__{self.name}__{shot_name(label)}.png")

    def slider(self, number, label):
        handle = self.control(number)
        for key in ("ArrowRight", "ArrowLeft", "End", "Home"):
            at_end, at_start = handle.evaluate("e => [Number(e.value) >= Number(e.max), Number(e.value) <= Number(e.min)]")
            if at_end:
                key = {"ArrowRight": "ArrowLeft", "End": "Home"}.get(key, key)
            elif at_start:
                key = {"ArrowLeft": "ArrowRight", "Home": "End"}.get(key, key)
            self.changes(lambda k=key: (handle.focus(), handle.press(k)), f"slider {label!r} ({key})")
        box = handle.bounding_box()
        start = handle.evaluate("e => (Number(e.value) - Number(e.min)) / (Number(e.max) - Number(e.min))")

        def drag():
            y = box["y"] + box["height"] / 2
            self.page.mouse.move(box["x"] + 8 + start * (box["width"] - 16), y)
            self.page.mouse.down()
            self.page.mouse.move(box["x"] + box["width"] * (0.95 if start < 0.5 else 0.05), y, steps=6)
            self.page.mouse.up()
        self.changes(drag, f"slider {label!r} (mouse drag)")
        self.screenshot(label)

    def button(self, number, label, token):
        handle = self.control(number)
        if token:  # hovering shows the token's weights, a click pins them, so do keyboard focus and Enter
            index = int(handle.get_attribute("data-index"))
            other = handle.locator("xpath=..").locator(".ca-v-token").nth(index - 1 if index else 1)
            other.click()  # pin another token first
            self.changes(handle.hover, f"hovering token {label!r}")
            self.changes(handle.click, f"clicking token {label!r}")  # the mouse has left: the other one shows
            other.click()
            self.changes(lambda: (handle.focus(), handle.press("Enter")), f"focus and Enter on token {label!r}")
            self.screenshot("token")
        else:
            self.changes(lambda: handle.click(), f"button {label!r}", number)
            if "ca-v-thumb" in handle.get_attribute("class"):  # the grid of heads also takes arrow keys
                right = handle.evaluate("e => !!(e.nextElementSibling && e.nextElementSibling.matches('.ca-v-thumb'))")
                key = "ArrowRight" if right else "ArrowLeft"
                self.changes(lambda: (handle.click(), handle.press(key)), f"{key} on button {label!r}")
                self.screenshot("head-grid")
            else:
                self.screenshot(label)

    def sweep(self):
        """Operate every visible control not operated yet (menus are cycled by :meth:`menus`)."""
        for number, tag, kind, cls, label in self.visible():
            if number in self.done or tag == "select":
                continue
            self.done.add(number)
            label = label.strip()
            if kind == "range":
                self.slider(number, label)
            elif tag == "button":
                self.button(number, label, "ca-v-token" in cls)
            else:
                self.changes(lambda n=number: self.control(n).click(), f"{tag} {label!r}")

    def menus(self):
        for number, tag, _, _, label in self.visible():
            if tag != "select":
                continue
            self.done.add(number)
            menu = self.control(number)
            count = menu.locator("option").count()
            for step in range(1, count + 1):
                index = (int(menu.input_value()) + 1) % count
                self.changes(lambda i=index: menu.select_option(index=i), f"menu {label.strip()!r}, option {index}")
                self.sweep()
            self.screenshot(label.strip().split("\n")[0])

    def exercise(self):
        self.sweep()
        self.menus()
        tagged = self.view.evaluate("(root, sel) => Array.from(root.querySelectorAll(sel), "
                                    "e => e.dataset.caTest ? Number(e.dataset.caTest) : -1)", CONTROLS)
        untouched = [n for n in tagged if n not in self.done]
        assert not untouched, f"{self.name}: {len(untouched)} controls were never visible or never operated"


@pytest.mark.parametrize("name", PAGES)
def test_every_control_works_without_a_kernel(page, server, name):
    open_page(page, f"{server}/{name}")
    assert displayed_widget_controls(page) == [], (
        f"{name} shows ipywidgets controls, which do nothing without a kernel: use course_attn.views, "
        "or tag the cell skip-execution and say that it needs a running notebook")
    assert page.locator(".jupyter-widgets :is(input, select, textarea, button)").count() == 0

    stray = page.evaluate("""sel => Array.from(document.querySelectorAll('article .cell_output'))
        .flatMap(o => Array.from(o.querySelectorAll(sel)))
        .filter(e => !e.closest('.ca-view') && !e.classList.contains('copybtn'))
        .map(e => e.outerHTML.slice(0, 120))""", CONTROLS)
    assert stray == [], f"{name}: controls in cell outputs that no view answers: {stray}"

    views = page.locator(".ca-view")
    for k in range(views.count()):
        view = views.nth(k)
        assert view.get_attribute("data-mounted") == "true", f"{name}: view {k} was not drawn"
        assert view.locator(".ca-view-fallback").count() == 0
        Figure(page, view, f"{page_name(name)}__{k}").exercise()
    assert page.errors == [], f"JavaScript console errors: {page.errors}"
    assert page.blocked == [], f"the page tried to reach the internet: {page.blocked}"


# --- the numbers on the page are the package's -----------------------------------------------------


def pages_with(*kinds):
    """The built pages that hold a view of one of ``kinds`` (read from the HTML files, no browser)."""
    from _book import HTML
    found = [p for p in PAGES if (HTML / p).exists()
             and any(f'data-kind="{kind}"' in (HTML / p).read_text("utf-8") for kind in kinds)]
    return found or [pytest.param(None, marks=pytest.mark.skip(reason=f"no page of the built book has a {kinds} view"))]


def views_of(page, server, name, kind):
    open_page(page, f"{server}/{name}")
    views = page.locator(f'.ca-view[data-kind="{kind}"]')
    assert views.count() > 0
    return [views.nth(k) for k in range(views.count())]


def set_slider(view, label, value):
    handle = view.locator("label.ca-v-control", has_text=label).locator("input[type=range]")
    handle.focus()
    handle.press("Home")
    for _ in range(value):
        handle.press("ArrowRight")
    assert int(float(handle.input_value())) == value


@pytest.mark.parametrize("name", pages_with("attention"))
def test_attention_view_shows_minilm_attention(page, server, name, minilm):
    encoder, tokenizer = minilm
    for view in views_of(page, server, name, "attention"):
        data = data_of(view)
        for sentence, layer, head, query in ((None, None, None, None), (len(data["sentences"]) - 1, 4, 7, 3),
                                              (0, 0, 0, 2)):
            if sentence is not None:
                view.locator("select").select_option(index=sentence)
                set_slider(view, "layer", layer)
                view.locator(".ca-v-thumb").nth(layer * data["heads"] + head).click()  # the model view picks the head
                view.locator(".ca-v-token").nth(query).click()
            view.page.mouse.move(1, 1)
            state = view.evaluate("r => [r.dataset.sentence, r.dataset.layer, r.dataset.head, r.dataset.query].map(Number)")
            if sentence is not None:
                assert state == [sentence, layer, head, query]
            s, layer, head, query = state
            text = view.locator("select option").nth(s).text_content()
            batch = tokenizer([text], return_tensors="pt")
            with torch.no_grad():
                out = encoder(batch["input_ids"], key_mask=batch["attention_mask"],
                              token_type_ids=batch["token_type_ids"], need_weights=True)
            expected = out.attentions[layer][0, head, query]  # (L,)
            tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
            assert view.locator(".ca-v-token").all_text_contents() == tokens
            assert [t.strip() for t in view.locator(".ca-v-keytoken").all_text_contents()] == tokens
            shown = [float(x) for x in view.locator(".ca-v-key .ca-v-weight").all_text_contents()]
            assert shown == [float(w) for w in view.locator(".ca-v-key").evaluate_all("es => es.map(e => e.dataset.weight)")]
            torch.testing.assert_close(torch.tensor(shown, dtype=torch.float64), expected.double(),
                                       atol=0.5e-3 + 1e-6, rtol=0)
            embedded = decode(data["sentences"][s]["weights"])  # (N, H, L, L): every head of the model view
            all_heads = torch.stack([a[0] for a in out.attentions]).double()
            torch.testing.assert_close(embedded, all_heads, atol=0.5e-3 + 1e-6, rtol=0)
            assert view.locator('.ca-v-thumb[aria-pressed="true"]').get_attribute("aria-label") == \
                f"layer {layer}, head {head}"


@pytest.mark.parametrize("name", pages_with("softmax"))
def test_softmax_view_shows_the_package_attention(page, server, name):
    import course_attn as ca
    for view in views_of(page, server, name, "softmax"):
        data = data_of(view)
        q, k = decode(data["queries"]).float(), decode(data["keys"]).float()
        v = torch.tensor(data["values"] or [0.0] * len(k))
        tau_slider = view.locator("label.ca-v-control", has_text="temperature").locator("input")
        settings = [lambda: None, lambda: (tau_slider.focus(), tau_slider.press("PageUp")),
                    lambda: (tau_slider.focus(), tau_slider.press("Home"))]
        settings += [lambda b=b: b.click() for b in view.locator("button.ca-v-mark").all()]
        if len(data["query_labels"]) > 1:
            pick = view.locator("label.ca-v-control", has_text=data["query_name"]).locator("select, input")
            settings.append(lambda: pick.select_option(index=1) if pick.evaluate("e => e.tagName") == "SELECT"
                            else (pick.focus(), pick.press("End")))
        for setting in settings:
            setting()
            query, tau = view.evaluate("r => [Number(r.dataset.query), Number(r.dataset.temperature)]")
            out, w = ca.scaled_dot_product_attention(q[query:query + 1], k, v[:, None], scale=1 / tau,
                                                     need_weights=True)  # (1, 1), (1, S)
            out, w = out[0, 0], w[0]
            shown = [float(x) for x in view.locator(".ca-v-bar .ca-v-weight").all_text_contents()]
            torch.testing.assert_close(torch.tensor(shown, dtype=torch.float64), w.double(), atol=0.5e-3 + 1e-5, rtol=0)
            shown_tau = re.search(r"τ = ([0-9.e+-]+)", view.locator(".ca-v-readout").text_content()).group(1)
            assert math.isclose(float(shown_tau), tau, rel_tol=5e-3)
            if data["values"]:
                assert abs(float(view.get_attribute("data-output")) - out.item()) <= 0.005 + 1e-5


def expected_positions(spec, n):
    """Recompute a view's matrices from the scheme's class and settings, with course_attn."""
    import course_attn as ca
    from course_attn import positional as pos
    p = torch.arange(n)
    cls, args = spec["class"], spec["args"]
    if cls == "SinusoidalPositionalEncoding":
        pe = pos.SinusoidalPositionalEncoding(args["d_model"]).encoding(p).double()
        return [F.cosine_similarity(pe[:, None], pe[None], dim=-1)]
    if cls == "LearnedPositionalEmbedding":  # the book's learned table is MiniLM's
        from safetensors import safe_open
        with safe_open(str(ca.pretrained.minilm_path() / "model.safetensors"), "pt") as f:
            table = f.get_tensor("embeddings.position_embeddings.weight")[:n].double()
        assert [args["max_len"], args["d_model"]] == [512, 384]
        return [F.cosine_similarity(table[:, None], table[None], dim=-1)]
    if cls == "RotaryEmbedding":
        rope = pos.RotaryEmbedding(args["head_dim"], base=args["base"])
        x = torch.ones(1, 1, n, args["head_dim"]) / math.sqrt(args["head_dim"])
        r = rope.rotate(x, p)[0, 0].double()
        return [r @ r.T]
    if cls == "ALiBi":
        slopes = pos.ALiBi(args["num_heads"]).slopes.double()
        return list(-slopes[:, None, None] * (p[:, None] - p[None]).abs())
    if cls == "T5RelativeBias":
        t5 = pos.T5RelativeBias(args["num_heads"], args["num_buckets"], args["max_distance"], args["bidirectional"])
        return [t5.bucket(p[None] - p[:, None]).double()]
    raise AssertionError(f"no reference for {cls}")


@pytest.mark.parametrize("name", pages_with("positions"))
def test_position_view_shows_the_package_schemes(page, server, name):
    for view in views_of(page, server, name, "positions"):
        data = data_of(view)
        n = data["positions"]
        for s, scheme in enumerate(data["schemes"]):
            view.locator("select").select_option(index=s)
            expected = expected_positions(scheme["spec"], n)
            assert len(expected) == len(scheme["variants"])
            for variant in sorted({0, len(expected) - 1}):
                if len(expected) > 1:
                    set_slider(view, scheme["variant_name"], variant)
                for i in (0, n // 2 + 1, n - 1):
                    set_slider(view, "query position", i)
                    state = view.evaluate("r => [r.dataset.scheme, r.dataset.variant, r.dataset.query].map(Number)")
                    assert state == [s, variant, i]
                    points = view.locator(".ca-v-point")
                    shown = [float(x) for x in points.evaluate_all("ps => ps.map(p => p.dataset.value)")]
                    assert points.evaluate_all("ps => ps.map(p => Number(p.dataset.j))") == list(range(n))
                    torch.testing.assert_close(torch.tensor(shown, dtype=torch.float64), expected[variant][i],
                                               atol=0.5e-3 + 1e-6, rtol=0)


# --- fits the page, readable in dark mode ---------------------------------------------------------------


def rgb(css):
    return [float(x) / 255 for x in re.findall(r"[\d.]+", css)[:3]]


def luminance(channels):
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize("name", pages_with("attention", "softmax", "positions"))
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_views_fit_the_page_and_read_in_both_themes(page, server, name, scheme):
    page.emulate_media(color_scheme=scheme)
    open_page(page, f"{server}/{name}")
    assert page.evaluate("document.documentElement.dataset.theme") == scheme
    views = page.locator(".ca-view")
    for k in range(views.count()):
        view = views.nth(k)
        background = view.evaluate("""e => { for (let n = e; n; n = n.parentElement) {
            const c = getComputedStyle(n).backgroundColor;
            if (!/^(transparent|rgba\\(0, 0, 0, 0\\))$/.test(c)) return c; } return "rgb(255, 255, 255)"; }""")
        overflow = view.evaluate("r => r.scrollWidth - r.clientWidth")
        assert overflow <= 1, f"view {k} is {overflow}px wider than the page's content"
        texts = view.locator(".ca-v-readout, .ca-v-hint, .ca-v-control span, .ca-v-token, .ca-v-keytoken, figcaption")
        for text in texts.all()[:30]:
            colour, alpha = text.evaluate("""e => { let a = 1;
                for (let n = e; n; n = n.parentElement) a *= Number(getComputedStyle(n).opacity);
                return [getComputedStyle(e).color, a]; }""")
            seen = [alpha * t + (1 - alpha) * b for t, b in zip(rgb(colour), rgb(background))]  # faded text
            dark, light = sorted((luminance(seen), luminance(rgb(background))))
            assert (light + 0.05) / (dark + 0.05) >= 4.5, \
                f"view {k}: text {colour} on {background} is hard to read ({scheme} theme)"
        if scheme == "dark":
            SHOTS.mkdir(parents=True, exist_ok=True)
            view.screenshot(path=SHOTS / f"views__{page_name(name)}__{k}__dark.png")
    assert page.errors == [], f"JavaScript console errors: {page.errors}"
