"""The resource classes behind ``client.customers``, ``client.payments``, ...

One module per permission area, each with a sync class and its async twin.
"""
