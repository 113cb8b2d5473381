"""The shared training loop on a tiny MLP and random digits-sized data (8x8 images, 10 classes)."""
import json
import math
import os
import pickle
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

from playground.errors import PlaygroundError
from playground.train import loop

torch.set_num_threads(1)


def digits(n=256, seed=0):
    """Random 8x8 'images' with labels from a fixed random linear teacher (learnable)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 8, 8, generator=g)
    teacher = torch.randn(64, 10, generator=g)
    return x, (x.flatten(1) @ teacher).argmax(1)


def jitter(batch, gen):
    x, y = batch
    return x + 0.05 * torch.randn(x.shape, generator=gen), y


def make_trainer(run_dir, steps=30, seed=0, every=10, ema=True, **kwargs):
    loop.seed_everything(seed)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(),
                              torch.nn.Dropout(0.1), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    trainer = loop.Loop(run_dir, {"net": net}, {"net": opt}, schedulers={"net": sched}, steps=steps, seed=seed,
                        ema={"net": 0.9} if ema else None, log_every=5, sample_every=every,
                        checkpoint_every=every, progress=False, **kwargs)

    def step_fn(batch, step):
        x, y = batch
        x = x + 0.01 * torch.randn_like(x)  # the global RNG, restored on resume
        loss = F.cross_entropy(trainer.modules["net"](x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), "double": 2 * loss.item()}

    return trainer, step_fn


def sample_fn(step):
    return torch.full((10, 12), step, dtype=torch.uint8).numpy()


def state(trainer):
    out = {f"net.{k}": v for k, v in trainer.raw["net"].state_dict().items()}
    out.update({f"ema.{k}": v for k, v in trainer.ema["net"].state_dict().items()})
    for pid, s in trainer.optimizers["net"].state_dict()["state"].items():
        out.update({f"opt.{pid}.{k}": v for k, v in s.items()})
    return out


def log_rows(run_dir):
    return [{k: v for k, v in json.loads(line).items() if k != "elapsed"}
            for line in (Path(run_dir) / "log.jsonl").read_text().splitlines()]


def test_loss_goes_down_and_files_appear(tmp_path, capsys):
    trainer, step_fn = make_trainer(tmp_path, steps=60)
    trainer.run(step_fn, loop.Batches(digits(), 32, seed=0, transform=jitter), sample_fn)
    rows = log_rows(tmp_path)
    assert [r["step"] for r in rows] == list(range(5, 61, 5))
    assert rows[-1]["loss"] < 0.6 * rows[0]["loss"]
    assert rows[-1]["double"] == pytest.approx(2 * rows[-1]["loss"])
    names = sorted(p.name for p in (tmp_path / "samples").glob("*.png"))
    assert names == [f"step_{s:06d}.png" for s in range(10, 61, 10)]
    assert (tmp_path / "checkpoint.pt").is_file() and not (tmp_path / "checkpoint.tmp").exists()
    assert "step 60/60" in capsys.readouterr().out  # plain lines when not a TTY


class Interrupted(Exception):
    pass


def test_resume_equals_uninterrupted_run(tmp_path):
    whole, step_fn = make_trainer(tmp_path / "whole")
    whole.run(step_fn, loop.Batches(digits(), 32, seed=3, transform=jitter), sample_fn)

    broken, step_fn = make_trainer(tmp_path / "broken")

    def dies(batch, step):
        if step == 25:
            raise Interrupted
        return step_fn(batch, step)

    with pytest.raises(Interrupted):
        broken.run(dies, loop.Batches(digits(), 32, seed=3, transform=jitter), sample_fn)
    assert len(log_rows(tmp_path / "broken")) == 5  # steps 5..25 logged, checkpoint at 20

    with open(tmp_path / "broken" / "log.jsonl", "a") as f:
        f.write('{"step": 26, "lo')  # a line torn by the interruption
    resumed, step_fn = make_trainer(tmp_path / "broken", seed=99)  # the checkpoint wins over a fresh init
    assert resumed.step == 20 and len(log_rows(tmp_path / "broken")) == 4
    resumed.run(step_fn, loop.Batches(digits(), 32, seed=3, transform=jitter), sample_fn)

    a, b = state(whole), state(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert log_rows(tmp_path / "whole") == log_rows(tmp_path / "broken")

    again, step_fn = make_trainer(tmp_path / "broken", resume=False)  # --no-resume starts over
    assert again.step == 0 and log_rows(tmp_path / "broken") == []


def write_marker(path):
    Path(path).write_text("the checkpoint ran code")


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return write_marker, (self.marker,)


def test_checkpoint_is_loaded_with_weights_only(tmp_path):
    marker = tmp_path / "marker"
    payload = pickle.dumps(Evil(str(marker)))
    pickle.loads(payload)  # the payload works when unpickled freely
    assert marker.exists()
    marker.unlink()

    run = tmp_path / "run"
    run.mkdir()
    torch.save({"step": 3, "evil": Evil(str(marker))}, run / "checkpoint.pt")
    with pytest.raises(PlaygroundError, match="weights_only"):
        make_trainer(run)
    assert not marker.exists()


def _ddp_worker(rank, world, port, run_dir, out_dir):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    loop.init_distributed("cpu")
    trainer, step_fn = make_trainer(run_dir, steps=12, every=6)
    assert isinstance(trainer.modules["net"], torch.nn.parallel.DistributedDataParallel)
    batches = loop.Batches(digits(), 16, seed=0, transform=jitter)
    first = next(batches)[1]
    batches.load_state_dict({"epoch": 0, "position": 0})
    trainer.run(step_fn, batches, sample_fn)
    torch.save({"state": state(trainer), "first_labels": first}, Path(out_dir) / f"rank{rank}.pt")
    trainer.close()


def test_ddp_two_processes_agree(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path / "run"), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert not torch.equal(r0["first_labels"], r1["first_labels"])  # each rank has its own shard
    for k, v in r0["state"].items():
        assert torch.equal(v, r1["state"][k]), k
    assert [r["step"] for r in log_rows(tmp_path / "run")] == [5, 10, 12]  # one writer
    ckpt = loop.load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert ckpt["step"] == 12 and len(ckpt["rng"]) == 2
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == ["step_000006.png", "step_000012.png"]


def test_common_parser_and_dataset_argument(tmp_path):
    import argparse
    ap = argparse.ArgumentParser(parents=[loop.common_parser(steps=7, dataset="fashion-mnist")])
    args = ap.parse_args(["--no-resume", "--lr", "0.5"])
    assert (args.steps, args.dataset, args.resume, args.lr, args.seed) == (7, "fashion-mnist", False, 0.5, 0)
    for ok in ("orl-faces", "hub:org/name", str(tmp_path)):
        assert ap.parse_args(["--dataset", ok]).dataset == ok
    assert ap.parse_args(["--dataset", "fashion"]).dataset == "fashion-mnist"
    with pytest.raises(SystemExit):
        ap.parse_args(["--dataset", "no-such-thing"])


def test_finish_writes_weights_and_card_metrics(tmp_path):
    from playground.cards import parse_card
    from playground.registry import load_weights
    net = torch.nn.Linear(3, 2)
    template = "\n".join([
        "---", "id: tiny-model", "family: tinytest", "title: Tiny", "source: weights/tiny-model",
        "revision: null", "dataset: digits", "license: MIT", f"params: {loop.count_params(net)}",
        "resolution: 8x8", "train_command: python -m playground.train.tiny", "metrics: {}",
        "metrics_command: python -m playground.evaluate tiny-model --write", "---", "", "Prose.", ""])
    card = loop.finish(net, {"in_features": 3, "out_features": 2}, "tiny-model", {"acc": 0.75}, template, root=tmp_path)
    parsed = parse_card(card)
    assert parsed.metrics == {"acc": 0.75} and parsed.body.strip() == "Prose."
    loaded = load_weights(tmp_path / "weights" / "tiny-model", lambda c: torch.nn.Linear(**c))
    assert torch.equal(loaded.weight, net.weight)
    loop.finish(net, {"in_features": 3, "out_features": 2}, "tiny-model", {"acc": 0.5}, root=tmp_path)
    assert parse_card(card).metrics == {"acc": 0.5}  # an existing card keeps its prose, gets new metrics


def test_finish_drafts_a_new_card_and_then_writes_only_its_run_and_metrics(tmp_path, capsys):
    """A template is a new card's first draft; after that the prose is people's (issue 24): a run writes its
    training-run section, the metrics and params, and an existing measured section is left as it is."""
    from playground.cards import RUN_END, RUN_START, parse_card
    net = torch.nn.Linear(3, 2)

    def template(prose):
        return "\n".join([
            "---", "id: tiny-model", "family: tinytest", "title: Tiny", "source: weights/tiny-model",
            "revision: null", "dataset: digits", "license: MIT", "params: 0",
            "resolution: 8x8", "train_command: python -m playground.train.tiny", "metrics: {}",
            "metrics_command: python -m playground.evaluate tiny-model --write", "---", "", prose, "", RUN_START,
            RUN_END, ""])
    config = {"in_features": 3, "out_features": 2}
    card = loop.finish(net, config, "tiny-model", {}, template("Drafted prose."), root=tmp_path, run="100 steps.")
    assert "drafted tiny-model.md" in capsys.readouterr().out and parse_card(card).params == loop.count_params(net)
    card.write_text(card.read_text().replace("Drafted prose.", "Edited prose.") +
                    "\n## Measured\n\n<!-- measured:start -->\nacc 0.75\n<!-- measured:end -->\n")
    loop.finish(net, config, "tiny-model", {"acc": 0.5}, template("Drafted prose."), root=tmp_path, run="800 steps.")
    body = parse_card(card).body
    assert body.startswith("Edited prose.") and f"{RUN_START}\n800 steps.\n{RUN_END}" in body and "100 steps" not in body
    assert body.count("<!-- measured:start -->\nacc 0.75\n<!-- measured:end -->") == 1 and body.count("## Measured") == 1
    assert parse_card(card).metrics == {"acc": 0.5} and "drafted" not in capsys.readouterr().out


def test_a_run_without_an_ema_can_go_on_with_one(tmp_path):
    trainer, step_fn = make_trainer(tmp_path, steps=20, ema=False)
    trainer.run(step_fn, loop.Batches(digits(), 32, seed=0), None)
    trained = {k: v.clone() for k, v in trainer.raw["net"].state_dict().items()}
    resumed, step_fn = make_trainer(tmp_path, steps=30)  # now with an EMA of "net" (and a longer schedule)
    assert resumed.step == 20
    for k, v in resumed.ema["net"].state_dict().items():
        assert torch.equal(v, trained[k])  # the EMA starts from the checkpoint's weights, not the fresh ones
    resumed.run(step_fn, loop.Batches(digits(), 32, seed=0), None)
    assert not torch.equal(resumed.ema["net"].state_dict()["1.weight"], resumed.raw["net"].state_dict()["1.weight"])


def test_an_ema_from_a_late_step_equals_one_switched_on_at_a_resume(tmp_path):
    whole, step_fn = make_trainer(tmp_path / "whole", steps=30, ema_from={"net": 20})
    whole.run(step_fn, loop.Batches(digits(), 32, seed=0), None)
    first, step_fn = make_trainer(tmp_path / "split", steps=30, ema=False)

    def dies(batch, step):
        if step == 20:  # the checkpoint at step 20 has no EMA
            raise Interrupted
        return step_fn(batch, step)

    with pytest.raises(Interrupted):
        first.run(dies, loop.Batches(digits(), 32, seed=0), None)
    later, step_fn = make_trainer(tmp_path / "split", steps=30)
    later.run(step_fn, loop.Batches(digits(), 32, seed=0), None)
    for k, v in whole.ema["net"].state_dict().items():
        assert torch.allclose(v, later.ema["net"].state_dict()[k], atol=1e-6)
    plain, step_fn = make_trainer(tmp_path / "plain", steps=30)  # averaging from the start differs
    plain.run(step_fn, loop.Batches(digits(), 32, seed=0), None)
    assert not torch.allclose(plain.ema["net"].state_dict()["1.weight"], whole.ema["net"].state_dict()["1.weight"])


def test_a_warm_start_begins_at_its_step_from_the_given_weights_with_a_fresh_optimizer(tmp_path):
    donor, step_fn = make_trainer(tmp_path / "donor", steps=20)
    donor.run(step_fn, loop.Batches(digits(), 32, seed=0), None)
    weights = {k: v.clone() for k, v in donor.ema["net"].state_dict().items()}
    fine, step_fn = make_trainer(tmp_path / "fine", steps=30)
    fine.warm_start({"net": weights}, 20)
    assert fine.step == fine.started_at == 20
    for module in (fine.raw["net"], fine.ema["net"]):  # the EMA starts from the same weights
        for k, v in module.state_dict().items():
            assert torch.equal(v, weights[k])
    assert not fine.optimizers["net"].state_dict()["state"]  # a fresh Adam
    lr = fine.optimizers["net"].param_groups[0]["lr"]
    assert lr == pytest.approx(1e-2 * (1 + math.cos(math.pi * 20 / 30)) / 2)  # the cosine schedule at 20 of 30
    fine.run(step_fn, loop.Batches(digits(), 32, seed=0), None)
    assert [r["step"] for r in log_rows(tmp_path / "fine")] == [25, 30]  # ten steps, not thirty
    resumed, _ = make_trainer(tmp_path / "fine", steps=30)
    assert (resumed.step, resumed.started_at) == (30, 20)  # the checkpoint remembers where the run began
    with pytest.raises(PlaygroundError, match="fresh run folder"):
        resumed.warm_start({"net": weights}, 20)
    with pytest.raises(PlaygroundError, match="before the last step"):
        make_trainer(tmp_path / "other", steps=30)[0].warm_start({"net": weights}, 30)
    with pytest.raises(RuntimeError):  # tensors of another network are refused
        make_trainer(tmp_path / "bad", steps=30)[0].warm_start({"net": {"1.weight": torch.zeros(3)}}, 5)
