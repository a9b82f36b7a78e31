"""Quality measured on real data: `gongkai eval ...` commands live on these functions."""
