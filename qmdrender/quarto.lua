-- qmdrender's pandoc filter: the Quarto markdown features the report uses.
--   * @fig-x / @tbl-x cross-references (numbered like typst numbers its figures)
--   * callouts (::: {.callout-note} with an optional "## Title")
-- Anything Quarto-specific it does not implement stops the render with a
-- message starting "qmdrender:", which the Python side turns into one line.

local is_html = FORMAT:match("html") ~= nil
local is_typst = FORMAT:match("typst") ~= nil
local KIND = { fig = "Figure", tbl = "Table" }
local CALLOUT = { note = "Note", tip = "Tip", warning = "Warning", important = "Important", caution = "Caution" }
local CALLOUT_COLOUR = {
  note = "#0b5cad", tip = "#1e7b34", warning = "#b86e00", important = "#b02a37", caution = "#9a4d00",
}
local QUARTO_XREF = {
  sec = true, eq = true, lst = true, thm = true, lem = true, cor = true, prp = true, cnj = true,
  def = true, exm = true, exr = true, rem = true, alg = true, Fig = true, Tbl = true, Sec = true,
}

local numbers = {}   -- id -> { kind = "fig"|"tbl", n = number }

local function fail(message)
  error("qmdrender: " .. message, 0)
end

local function prefix_of(id)
  return id:match("^(%a+)%-")
end

-- Number every figure and every table in document order, as typst does.
local function number_floats(blocks)
  local count = { fig = 0, tbl = 0 }
  local function record(kind, id)
    count[kind] = count[kind] + 1
    if id ~= "" then
      if prefix_of(id) ~= kind then
        fail(("%s '#%s' needs an id starting with '%s-'"):format(KIND[kind]:lower(), id, kind))
      end
      if numbers[id] then fail("duplicate label '" .. id .. "'") end
      numbers[id] = { kind = kind, n = count[kind] }
    end
    return count[kind]
  end
  return blocks:walk({
    traverse = "topdown",
    Figure = function(fig)
      fig.attributes["qmdrender-n"] = tostring(record("fig", fig.identifier))
      return fig
    end,
    Table = function(tbl)
      tbl.attributes["qmdrender-n"] = tostring(record("tbl", tbl.identifier))
      return tbl
    end,
  })
end

local function caption_prefix(kind, n)
  return pandoc.Inlines({ pandoc.Str(KIND[kind]), pandoc.Space(), pandoc.Str(n .. ":"), pandoc.Space() })
end

local function add_caption_number(el, kind)
  local n = el.attributes["qmdrender-n"]
  el.attributes["qmdrender-n"] = nil
  if is_html and el.caption and #el.caption.long > 0 then
    local caption = el.caption
    local long = caption.long
    local first = long[1]
    if first.t == "Plain" or first.t == "Para" then
      long[1] = pandoc.Plain(caption_prefix(kind, n) .. first.content)
      caption.long = long
      el.caption = caption
    end
  end
  return el
end

local function resolve_cite(cite)
  local crossref = false
  for _, c in ipairs(cite.citations) do
    local prefix = prefix_of(c.id)
    if prefix and (KIND[prefix] or QUARTO_XREF[prefix]) then crossref = true end
  end
  if not crossref then return nil end
  if #cite.citations ~= 1 then
    fail("cross-references must be cited one at a time, not '" .. pandoc.utils.stringify(cite.content) .. "'")
  end
  local id = cite.citations[1].id
  local prefix = prefix_of(id)
  if not KIND[prefix] then
    fail("unsupported cross-reference '@" .. id .. "' (qmdrender resolves @fig- and @tbl-)")
  end
  local target = numbers[id]
  if not target then fail("unresolved cross-reference '@" .. id .. "'") end
  if is_typst then
    return pandoc.RawInline("typst", "#ref(<" .. id .. ">)")
  end
  return pandoc.Link(pandoc.Inlines({ pandoc.Str(KIND[prefix]), pandoc.Str("\u{a0}" .. target.n) }), "#" .. id)
end

local function callout(div, kind)
  for key, _ in pairs(div.attributes) do
    if key ~= "title" then fail("unsupported callout option '" .. key .. "'") end
  end
  local title = div.attributes.title and pandoc.Inlines(div.attributes.title) or nil
  local body = div.content
  if not title and #body > 0 and body[1].t == "Header" then
    title = body[1].content
    body = pandoc.Blocks({ table.unpack(body, 2) })
  end
  title = title or pandoc.Inlines({ pandoc.Str(CALLOUT[kind]) })
  if is_typst then
    local colour = CALLOUT_COLOUR[kind]
    local out = pandoc.Blocks({
      pandoc.RawBlock("typst", ('#block(width: 100%%, inset: 10pt, radius: 3pt, fill: rgb("%s").lighten(90%%), stroke: (left: 3pt + rgb("%s")))['):format(colour, colour)),
      pandoc.Para({ pandoc.Strong(title) }),
    })
    out:extend(body)
    out:insert(pandoc.RawBlock("typst", "]"))
    return out
  end
  local heading = pandoc.Div({ pandoc.Plain(title) }, pandoc.Attr("", { "qmd-callout-title" }))
  local content = pandoc.Blocks({ heading })
  content:extend(body)
  return pandoc.Div(content, pandoc.Attr(div.identifier, { "qmd-callout", "qmd-callout-" .. kind }))
end

local function check_div(div)
  if div.identifier == "refs" and #div.classes == 0 then return nil end
  local prefix = prefix_of(div.identifier)
  if prefix and (KIND[prefix] or QUARTO_XREF[prefix]) then
    fail("cross-reference divs ('::: {#" .. div.identifier .. "}') are not supported; use a cell with label and fig-cap or tbl-cap")
  end
  if #div.classes == 1 then
    local kind = div.classes[1]:match("^callout%-(%a+)$")
    if kind and CALLOUT[kind] then return callout(div, kind) end
  end
  local what = #div.classes > 0 and ("." .. table.concat(div.classes, " .")) or "#" .. div.identifier
  for key, _ in pairs(div.attributes) do what = what .. " " .. key end
  fail("unsupported div '::: {" .. what .. "}'")
end

function Pandoc(doc)
  doc.blocks = number_floats(doc.blocks):walk({
    Figure = function(el) return add_caption_number(el, "fig") end,
    Table = function(el)
      el = add_caption_number(el, "tbl")
      if not is_html then return el end
      -- a wide table scrolls inside its own box instead of widening the page on a phone
      return pandoc.Blocks({ pandoc.RawBlock("html", '<div class="qmd-table-wrap">'), el, pandoc.RawBlock("html", "</div>") })
    end,
    Cite = resolve_cite,
    Div = check_div,
  })
  return doc
end
