"""Benchmark of graph ML: snapshot export, GNN epoch and scoring time on CPU, and AUC, beside the rule detector.

A model is trained on small simulated communities (3 x 2,000 residents by default), then an unseen
10,000-resident community's month (seed 7, ~1.7 million events) is exported as a snapshot and
scored. The baseline in the same run is the rule-based `group_rental` detector on the same events:
its time (with the sightings table it builds, as the snapshot builds its own) and its ROC AUC
(its score, 0 for the houses it does not flag) against the planted group rentals. An epoch is one
full-batch forward and backward pass and optimiser step on the 10,000-resident snapshot.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from analytics import gnn
from analytics.detectors import Inputs, configure, run


def _median_seconds(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--train-residents", type=int, default=2000)
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the graphs are small)")
    parser.add_argument("--without", nargs="*", default=[], help="features the model may not read (kind.name)")
    args = parser.parse_args()

    config = gnn.TrainConfig(
        residents=args.train_residents, seeds=tuple(args.train_seeds), epochs=args.epochs, without=tuple(args.without)
    )
    started = time.perf_counter()
    training = [gnn.simulated(config.residents, s, config.days, config.cases) for s in config.seeds]
    trained = gnn.fit(config, [s for s, _, _ in training], [y for _, _, y in training], threads=args.threads)
    print(
        f"trained on {len(config.seeds)} x {config.residents:,} residents ({trained.positives} group rentals among "
        f"{trained.houses:,} houses) in {time.perf_counter() - started:.1f} s, {args.epochs} epochs "
        f"of {trained.epoch_seconds * 1000:.0f} ms"
    )

    started = time.perf_counter()
    snap, data, y = gnn.simulated(args.residents, args.seed, config.days)
    events, context = data.events, data.context
    print(
        f"{args.residents:,} residents (seed {args.seed}): {len(events):,} events simulated in "
        f"{time.perf_counter() - started:.1f} s; snapshot of {len(snap.uids['house']):,} houses, "
        f"{len(snap.uids['person']):,} people, {len(snap.uids['unit']):,} units, "
        f"{sum(snap.data[e].edge_index.shape[1] for e in gnn.EDGE_TYPES):,} edges; {int(y.sum())} planted group rentals"
    )

    def fresh() -> Inputs:
        return Inputs(events, context, data.start, data.end, data.zone)

    export = _median_seconds(args.repeat, lambda: gnn.snapshot(fresh()))
    rule = configure(only=[gnn.TARGET])
    rule_time = _median_seconds(args.repeat, lambda: run(rule, fresh()))
    found = {f.subject: f.score for f in run(rule, fresh())}
    houses = snap.uids["house"]
    rule_auc = gnn.auc([found.get(h, 0.0) for h in houses], y.numpy())

    model = trained.model
    scoring = _median_seconds(args.repeat, lambda: gnn.scores(model, snap, threads=args.threads))
    house_scores = gnn.scores(model, snap, threads=args.threads)
    model_auc = gnn.auc([house_scores[h] for h in houses], y.numpy())

    # epochs on the big snapshot: a copy of the trained model, so the figures above are untouched
    copy = gnn.HouseScorer(config.hidden, config.layers, config.without)
    copy.load_state_dict(model.state_dict())
    copy.train()
    optimiser = torch.optim.Adam(copy.parameters(), lr=config.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(y) - float(y.sum())) / float(y.sum())))
    inputs = gnn.model_inputs(snap)
    before = torch.get_num_threads()
    torch.set_num_threads(args.threads)

    def epoch() -> None:
        optimiser.zero_grad()
        loss = loss_fn(copy(*inputs), y)
        loss.backward()
        optimiser.step()

    epoch()  # the first pass allocates
    epoch_time = _median_seconds(max(args.repeat, 5), epoch)
    torch.set_num_threads(before)

    print(f"{'':34}{'seconds':>10}{'ROC AUC':>10}")
    print(f"{'baseline: group_rental detector':34}{rule_time:10.3f}{rule_auc:10.4f}")
    print(f"{'snapshot export':34}{export:10.3f}")
    print(f"{'GNN scoring (inference)':34}{scoring:10.3f}{model_auc:10.4f}")
    print(f"{'GNN training epoch (CPU)':34}{epoch_time:10.3f}")
    print(
        f"export + scoring = {(export + scoring) / rule_time:.1f}x the detector's time; "
        f"an epoch on {args.residents:,} residents is {epoch_time / rule_time:.2f}x it ({args.threads} torch thread(s))"
    )


if __name__ == "__main__":
    main()
