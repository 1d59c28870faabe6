"""The training stage: a tokenizer, a data path and a StarCoder-architecture model trained
from a release's shards (issue 13). Pure Python and torch; reads a release as any user would."""
