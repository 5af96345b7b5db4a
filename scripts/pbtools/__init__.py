"""Shared Python helpers of prunebench's scripts: reading result JSON, parsing benchmark names."""
