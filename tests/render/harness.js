// Parses and renders each card with the official renderer, as Teams would, and reports per card:
// the parse and validation events, whether an element was rendered, its links, text and height.
"use strict";

const markdown = window.markdownit(); // CommonMark, raw HTML off: what a Teams-like host uses
AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
  result.outputHtml = markdown.render(text);
  result.didProcess = true;
};

function describe(event) {
  return `${AdaptiveCards.ValidationEvent[event.event]}: ${event.message}`;
}

function run(name, json) {
  const result = { events: [], rendered: false };
  const card = new AdaptiveCards.AdaptiveCard();
  const context = new AdaptiveCards.SerializationContext(AdaptiveCards.Versions.v1_5);
  try {
    card.parse(json, context);
    for (let i = 0; i < context.eventCount; i++) {
      result.events.push(describe(context.getEventAt(i)));
    }
    for (const event of card.validateProperties().validationEvents) {
      result.events.push(describe(event));
    }
    const element = card.render();
    if (element) {
      const section = document.createElement("section");
      section.id = `card-${name}`;
      section.appendChild(element);
      document.getElementById("cards").appendChild(section);
      result.rendered = true;
      result.links = [...element.querySelectorAll("a[href]")].map((a) => a.getAttribute("href"));
      result.tags = [...new Set([...element.querySelectorAll("*")].map((e) => e.localName))];
      result.text = element.innerText;
    }
  } catch (error) {
    result.events.push(`exception: ${error}`);
  }
  return result;
}

const only = new URLSearchParams(location.search).get("only");
const results = {};
for (const [name, json] of Object.entries(window.UPSIDE_CARDS || {})) {
  if (!only || name === only) {
    results[name] = run(name, json);
  }
}
// Heights once images are in: the screenshot's window is sized from them.
window.addEventListener("load", () => {
  for (const name of Object.keys(results)) {
    const section = document.getElementById(`card-${name}`);
    results[name].height = section ? section.offsetHeight : 0;
  }
  document.getElementById("results").textContent = JSON.stringify(results);
});
