from __future__ import annotations

import pytest
from lsp_support import ROOT, diagnostics_for, open_document, start_server, stop_server

pytestmark = pytest.mark.asyncio


async def test_smoke():
    client = await start_server()
    try:
        path = ROOT / "fixtures" / "demo" / "train.py"
        open_document(client, path.as_uri(), path.read_text())
        diags = await diagnostics_for(client, path.as_uri(), 1)
        print([(d.code, d.range) for d in diags])
        assert diags
    finally:
        await stop_server(client)
