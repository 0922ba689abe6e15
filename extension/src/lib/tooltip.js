/**
 * The tooltip of a mark: technique, confidence and definition of each of its spans, the same
 * facts as propscan's own page. It shows on hover and on keyboard focus, hides on Escape,
 * and is made of elements of its own (styled by marks.css) that clearing removes.
 */

import { TOOLTIP_ID } from "./marks.js";
import { describe, labelOf, percent } from "./techniques.js";

export class Tooltip {
  /**
   * @param {Document} doc
   * @param {(element: Element) => {technique: string | null, score: number | null}[] | null} spansAt
   *   the shown spans of a mark, or null for an element that is no mark of ours
   * @param {() => import("./techniques.js").Technique[]} techniques
   */
  constructor(doc, spansAt, techniques) {
    this.doc = doc;
    this.spansAt = spansAt;
    this.techniques = techniques;
    this.element = null;
    this.mark = null;
    const enter = (event) => this.show(event.target);
    const leave = (event) => {
      if (this.spansAt(event.target)) this.hide();
    };
    const key = (event) => {
      if (event.key === "Escape") this.hide();
    };
    // The tip is fixed to the window: as the page scrolls it follows its mark, and goes once
    // the mark has left the window (it would float over other text).
    const scroll = () => {
      if (this.mark && this.element && !this.element.hidden) this.place(this.mark);
    };
    this.listeners = [
      ["mouseover", enter],
      ["focusin", enter],
      ["mouseout", leave],
      ["focusout", leave],
      ["keydown", key],
      ["scroll", scroll],
    ];
  }

  attach() {
    for (const [type, listener] of this.listeners) this.doc.addEventListener(type, listener, true);
  }

  detach() {
    for (const [type, listener] of this.listeners) this.doc.removeEventListener(type, listener, true);
    this.element?.remove();
    this.element = null;
  }

  show(target) {
    const mark = target instanceof Element ? target.closest("mark") : null;
    const spans = mark ? this.spansAt(mark) : null;
    if (!spans || spans.length === 0) return;
    const tip = this.tooltipElement();
    tip.replaceChildren(
      ...spans.map((span) => {
        const technique = describe(this.techniques(), labelOf(span));
        const row = this.part("propscan-tip-row");
        const swatch = this.part("propscan-tip-swatch");
        swatch.style.setProperty("background-color", technique.colour, "important");
        const name = this.part("propscan-tip-name", `${technique.name} ${percent(span.score)}`);
        const definition = this.part("propscan-tip-definition", technique.definition);
        row.append(swatch, name, definition);
        return row;
      }),
    );
    tip.hidden = false;
    this.mark = mark;
    this.place(mark);
  }

  /** Put the tip below ``mark``, or above it at the window's end; hide it off screen. */
  place(mark) {
    const tip = this.tooltipElement();
    const box = mark.getBoundingClientRect();
    const view = this.doc.defaultView;
    if (box.bottom < 0 || box.top > view.innerHeight) {
      this.hide();
      return;
    }
    const width = Math.min(360, view.innerWidth - 16);
    const left = Math.max(8, Math.min(box.left, view.innerWidth - width - 8));
    tip.style.setProperty("left", `${left}px`, "important");
    tip.style.setProperty("width", `${width}px`, "important");
    const below = box.bottom + 6;
    const height = tip.getBoundingClientRect().height;
    const top = below + height > view.innerHeight && box.top > height + 6 ? box.top - height - 6 : below;
    tip.style.setProperty("top", `${top}px`, "important");
  }

  hide() {
    if (this.element) this.element.hidden = true;
  }

  tooltipElement() {
    if (!this.element) {
      this.element = this.part("propscan-tip");
      this.element.id = TOOLTIP_ID;
      this.element.setAttribute("role", "tooltip");
      this.doc.documentElement.append(this.element);
    }
    return this.element;
  }

  part(name, text) {
    const element = this.doc.createElement(name);
    if (text !== undefined) element.textContent = text;
    return element;
  }
}
