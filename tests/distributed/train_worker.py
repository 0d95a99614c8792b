"""Trains the model of test_distributed.py with course_attn.fit; run alone or under torchrun.

    python tests/distributed/train_worker.py OUT.pt
    torchrun --standalone --nproc_per_node=2 tests/distributed/train_worker.py OUT.pt
"""

import os
import sys

import torch

import course_attn as ca


def data():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 30, (256, 12), generator=g)
    return {"input_ids": ids, "labels": {"first": ids[:, 0] % 3}}


def model():
    torch.manual_seed(0)
    config = ca.TransformerConfig(vocab_size=30, d_model=32, num_heads=4, num_layers=2, dropout=0.0, max_len=16)
    return ca.MultiTaskModel(ca.TransformerEncoder(config), {"first": ca.SequenceClassificationHead(32, 3, dropout=0.0)})


def main(out):
    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        torch.distributed.init_process_group("gloo")
    torch.set_num_threads(1)
    net = model()
    seen = []

    def loss_fn(m, batch):
        seen.append(len(batch["input_ids"]))
        return m(**batch).loss

    history = ca.fit(net, data(), epochs=2, batch_size=64, lr=3e-3, progress=False, loss_fn=loss_fn)
    if not distributed or torch.distributed.get_rank() == 0:
        torch.save({"state": net.state_dict(), "loss": history.step_loss, "seen": seen}, out)
    if distributed:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
