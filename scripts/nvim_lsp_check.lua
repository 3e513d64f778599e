-- A by-hand check of `reglint server` in a real client: a headless Neovim (0.7 or later) session
-- that opens fixtures/demo/train.py, waits for diagnostics, hovers, applies a fix and an ignore
-- action, types an edit and saves, printing what the client received. See scripts/README.md.
local reglint = os.getenv("REGLINT") or "reglint"  -- the server to start
local function log(...) io.stdout:write(table.concat({...}, " ") .. "\n") end
local root = vim.fn.getcwd()
local id = vim.lsp.start_client({ name = "reglint", cmd = { reglint, "server" }, root_dir = root })
vim.cmd("edit train.py")
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, id)
local function wait_diags(pred, what)
  local ok = vim.wait(60000, function() return pred(vim.diagnostic.get(buf)) end, 20)
  log(ok and "OK" or "TIMEOUT", what)
end
local function show()
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    log(string.format("  %d:%d-%d:%d %s %s %s", d.lnum + 1, d.col + 1, d.end_lnum + 1, d.end_col + 1,
      vim.diagnostic.severity[d.severity], d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code) or "?", d.message:sub(1, 60)))
  end
end
wait_diags(function(d) return #d > 0 end, "diagnostics on open")
show()
local client = vim.lsp.get_client_by_id(id)
log("server:", client.server_capabilities and vim.inspect(client.server_capabilities.codeActionProvider) or "?")
-- hover on the RL102 finding (line 18, col 24)
local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 17, character = 25 } }
local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", params, 20000)
for _, r in pairs(hover or {}) do
  local value = r.result and r.result.contents and r.result.contents.value or ""
  log("hover first lines:", (value:gsub("\n.*", "")), "| has page:", tostring(value:find("# RL102: unsquared%-l2%-norm") ~= nil))
end
-- code actions on line 16 (RL105)
local diags = vim.diagnostic.get(buf, { lnum = 15 })
local ca_params = {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  range = { start = { line = 15, character = 0 }, ["end"] = { line = 15, character = 0 } },
  context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(buf, 15) },
}
local actions = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", ca_params, 20000)
local chosen
for _, r in pairs(actions or {}) do
  for _, a in ipairs(r.result or {}) do
    log("action:", a.title, a.kind or "", a.edit and "edit" or (a.data and "resolve" or ""))
    if a.title:match("^Fix RL105") then chosen = a end
  end
end
if chosen and not chosen.edit then
  local resolved = vim.lsp.buf_request_sync(buf, "codeAction/resolve", chosen, 20000)
  for _, r in pairs(resolved or {}) do chosen = r.result end
end
if chosen and chosen.edit then
  vim.lsp.util.apply_workspace_edit(chosen.edit, "utf-16")
  log("applied:", vim.api.nvim_buf_get_lines(buf, 15, 16, false)[1])
end
wait_diags(function(d)
  for _, x in ipairs(d) do if x.lnum == 15 then return false end end
  return true
end, "RL105 gone after the fix")
show()
-- ignore action for RL201 on line 9
ca_params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(buf, 8) }
ca_params.range = { start = { line = 8, character = 0 }, ["end"] = { line = 8, character = 0 } }
actions = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", ca_params, 20000)
for _, r in pairs(actions or {}) do
  for _, a in ipairs(r.result or {}) do
    if a.title:match("^Ignore RL201") then
      if not a.edit then
        for _, rr in pairs(vim.lsp.buf_request_sync(buf, "codeAction/resolve", a, 20000) or {}) do a = rr.result end
      end
      vim.lsp.util.apply_workspace_edit(a.edit, "utf-16")
      log("ignored:", vim.api.nvim_buf_get_lines(buf, 8, 9, false)[1])
    end
  end
end
wait_diags(function(d)
  for _, x in ipairs(d) do if x.lnum == 8 and (x.code == "RL201" or (x.user_data and x.user_data.lsp.code == "RL201")) then return false end end
  return true
end, "RL201 gone after the ignore comment")
-- a typed edit: square the norm by hand
vim.api.nvim_buf_set_lines(buf, 17, 18, false, { "            l2_reg += torch.norm(param, 2) ** 2" })
wait_diags(function(d)
  for _, x in ipairs(d) do if x.lnum == 17 and (x.code == "RL102" or (x.user_data and x.user_data.lsp.code == "RL102")) then return false end end
  return true
end, "RL102 gone after typing")
show()
vim.cmd("write")
vim.wait(2000)
log("saved; diagnostics now:", #vim.diagnostic.get(buf))
vim.lsp.stop_client(id)
vim.wait(1000)
vim.cmd("qall!")
