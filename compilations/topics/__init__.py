"""Topic discovery: a scikit-learn pipeline of swappable steps (vectorise -> reduce -> cluster
-> label -> representatives), topics stored with stable ids, incremental assignment, pictures.

Modules, one responsibility each:

- `tokens`: pre-tokenising texts with the project tokeniser (the slow part, done once);
- `steps`: the estimators (TF-IDF on tokens, SVD, KMeans/HDBSCAN, class-based TF-IDF labels);
- `pipeline`: `TopicPipeline`, which joins the steps and assigns new documents;
- `matching`: stable topic ids across rebuilds (Hungarian assignment on member overlap);
- `store`: topic builds in the relational database and model artefacts under data_dir;
- `service`: building, reading and assigning topics for the CLI and the API;
- `pictures`: the topic map and timeline (matplotlib, Agg);
- `errors`: what can go wrong, as `GongkaiError` subclasses.
"""
