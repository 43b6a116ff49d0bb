"""Proof under fire (issue 17): harnesses shared by the quick tests and scripts/prove.

Each module here drives the SDK and the sandbox through their public behaviour only
(HTTP on loopback, the public client API, ``nuvera_client.sandbox``), so it keeps
working when the request pipelines behind them change.
"""
