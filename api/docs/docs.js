// Renders /openapi.json as a list of operations with a form to try each.
"use strict";
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === "class" ? (e.className = v) : e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
};

// A request body to start from: the document's own example where it has
// one (the API accepts those), else one built from the schema without the
// readOnly fields, which the API sets itself.
function example(schema, spec, depth = 0) {
  if (!schema || depth > 4) return null;
  if (schema.examples) return schema.examples[0];
  if (schema.$ref) return example(spec.components.schemas[schema.$ref.split("/").pop()], spec, depth + 1);
  if (schema.type === "object" || schema.properties) {
    const o = {};
    for (const [k, v] of Object.entries(schema.properties || {})) {
      if (!v.readOnly) o[k] = example(v, spec, depth + 1);
    }
    return o;
  }
  if (schema.type === "array") return [];
  if (schema.type === "integer" || schema.type === "number") return 0;
  if (schema.type === "boolean") return false;
  if (schema.enum) return schema.enum[0];
  return "";
}

function operation(method, path, op, spec) {
  const params = (op.parameters || []).filter(p => p.in !== "header");
  const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  const inputs = params.map(p => el("label", {}, `${p.name} (${p.in}) `, el("input", { class: "param", "data-name": p.name, "data-in": p.in })));
  const ta = body ? el("textarea", {}, JSON.stringify(example(body.schema, spec), null, 2)) : null;
  const out = el("pre");
  const send = el("button", { type: "button" }, "Send");
  send.onclick = async () => {
    let p = path;
    const q = new URLSearchParams();
    for (const i of inputs.map(l => l.querySelector("input"))) {
      if (!i.value) continue;
      if (i.dataset.in === "path") p = p.replace(`{${i.dataset.name}}`, encodeURIComponent(i.value));
      else q.set(i.dataset.name, i.value);
    }
    const headers = { "Content-Type": "application/json" };
    const tok = document.getElementById("token").value.trim();
    if (tok) headers.Authorization = tok.startsWith("Bearer ") ? tok : "Bearer " + tok;
    try {
      const r = await fetch(p + (q.toString() ? "?" + q : ""), { method, headers, body: ta ? ta.value : undefined });
      const text = await r.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) {}
      out.textContent = `${r.status} ${r.statusText}\n\n${shown}`;
      if (path === "/user/v1/authenticate" && method === "POST" && r.ok) {
        document.getElementById("token").value = JSON.parse(text).token;
      }
    } catch (e) { out.textContent = String(e); }
  };
  return el("details", {},
    el("summary", {}, el("span", { class: `m ${method}` }, method), " ", el("span", { class: "p" }, path), " — ", op.summary || ""),
    el("div", { class: "body" }, ...(op.description ? [el("p", {}, op.description)] : []),
      ...inputs.map(i => el("div", {}, i)), ...(ta ? [ta] : []), el("div", {}, send), out));
}

fetch("/openapi.json").then(r => r.json()).then(spec => {
  document.getElementById("info").textContent = `${spec.info.title} ${spec.info.version} — ${spec.info.description || ""} (OpenAPI ${spec.openapi})`;
  const byTag = {};
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      (byTag[tag] = byTag[tag] || []).push(operation(method.toUpperCase(), path, op, spec));
    }
  }
  const main = document.getElementById("ops");
  for (const tag of Object.keys(byTag).sort()) main.append(el("h2", {}, tag), ...byTag[tag]);
});
