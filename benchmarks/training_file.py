"""A training script of a given length, shaped like the long single-file ones people keep.

It has what such files are mostly made of (argument parsing, datasets, several model classes,
metrics, checkpointing, schedules, logging) and a training step with the mistakes reglint reports
(a coupled Adam decay, an unsquared L2 penalty over every parameter, a CPU accumulator), so the
linter has real work: parsing, the analysis and some findings with fixes. Model blocks are
repeated with new names until the file reaches the length asked for.

    python benchmarks/training_file.py 2000 > /tmp/train_2000.py
"""

from __future__ import annotations

import sys

HEADER = '''"""Image classification: training and evaluation in one script."""

import argparse
import json
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

logger = logging.getLogger(__name__)

L2_LAMBDA = 5e-4
LABEL_SMOOTHING = 0.1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="train a classifier")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--output-dir", default="runs")
    parser.add_argument("--arch", default="resnet_small")
    parser.add_argument("--epochs", type=int, default=90)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--min-lr", type=float, default=1e-6)
    parser.add_argument("--warmup-epochs", type=int, default=5)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--clip-grad", type=float, default=None)
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--resume", default="")
    parser.add_argument("--eval-only", action="store_true")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--save-every", type=int, default=5)
    parser.add_argument("--num-classes", type=int, default=100)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--mixup", type=float, default=0.0)
    parser.add_argument("--cutmix", type=float, default=0.0)
    return parser.parse_args(argv)


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def setup_logging(output_dir):
    os.makedirs(output_dir, exist_ok=True)
    handlers = [logging.StreamHandler(), logging.FileHandler(os.path.join(output_dir, "train.log"))]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers)


class AverageMeter:
    """Keeps the running average of a value."""

    def __init__(self, name, fmt=":f"):
        self.name = name
        self.fmt = fmt
        self.reset()

    def reset(self):
        self.val = 0.0
        self.avg = 0.0
        self.sum = 0.0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / max(self.count, 1)

    def __str__(self):
        return ("{name} {val" + self.fmt + "} ({avg" + self.fmt + "})").format(**self.__dict__)


def accuracy(output, target, topk=(1,)):
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def cosine_lr(epoch, args):
    if epoch < args.warmup_epochs:
        return args.lr * (epoch + 1) / args.warmup_epochs
    progress = (epoch - args.warmup_epochs) / max(1, args.epochs - args.warmup_epochs)
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * progress))


def adjust_learning_rate(optimizer, epoch, args):
    lr = cosine_lr(epoch, args)
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def save_checkpoint(state, output_dir, name="checkpoint.pt"):
    path = os.path.join(output_dir, name)
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path, model, optimizer=None):
    state = torch.load(path, map_location="cpu")
    model.load_state_dict(state["model"])
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    return state.get("epoch", 0)


@dataclass
class History:
    train_loss: List[float] = field(default_factory=list)
    val_loss: List[float] = field(default_factory=list)
    val_acc: List[float] = field(default_factory=list)

    def add(self, train_loss, val_loss, val_acc):
        self.train_loss.append(train_loss)
        self.val_loss.append(val_loss)
        self.val_acc.append(val_acc)

    def best(self):
        return max(self.val_acc) if self.val_acc else 0.0

    def dump(self, path):
        with open(path, "w") as handle:
            json.dump(self.__dict__, handle, indent=2)


class ImageFolderDataset(Dataset):
    def __init__(self, root, split="train", image_size=32, augment=False):
        self.root = os.path.join(root, split)
        self.image_size = image_size
        self.augment = augment
        self.samples = []
        for label, name in enumerate(sorted(os.listdir(self.root))):
            folder = os.path.join(self.root, name)
            for file_name in sorted(os.listdir(folder)):
                self.samples.append((os.path.join(folder, file_name), label))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        image = torch.load(path)
        if self.augment:
            if random.random() < 0.5:
                image = image.flip(-1)
            pad = 4
            image = F.pad(image, (pad, pad, pad, pad), mode="reflect")
            x = random.randint(0, 2 * pad)
            y = random.randint(0, 2 * pad)
            image = image[:, y : y + self.image_size, x : x + self.image_size]
        return image, label


def mixup_batch(images, labels, alpha, num_classes):
    if alpha <= 0:
        return images, F.one_hot(labels, num_classes).float()
    lam = np.random.beta(alpha, alpha)
    index = torch.randperm(images.size(0), device=images.device)
    mixed = lam * images + (1 - lam) * images[index]
    targets = F.one_hot(labels, num_classes).float()
    targets = lam * targets + (1 - lam) * targets[index]
    return mixed, targets


def soft_cross_entropy(logits, targets, smoothing=0.0):
    if smoothing > 0:
        targets = targets * (1 - smoothing) + smoothing / targets.size(-1)
    return torch.sum(-targets * F.log_softmax(logits, dim=-1), dim=-1).mean()
'''

BLOCK = '''

class ConvBlock{n}(nn.Module):
    """Conv, norm, activation, twice, with a residual connection."""

    def __init__(self, in_channels, out_channels, stride=1, dropout=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.dropout(out)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Attention{n}(nn.Module):
    def __init__(self, dim, heads=8, dropout=0.0):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = self.drop(attn.softmax(dim=-1))
        out = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class Network{n}(nn.Module):
    """A small conv stem, residual stages, attention over the last feature map, a linear head."""

    def __init__(self, num_classes=100, width=64, dropout=0.1):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        self.stage1 = nn.Sequential(ConvBlock{n}(width, width), ConvBlock{n}(width, width))
        self.stage2 = nn.Sequential(ConvBlock{n}(width, 2 * width, 2), ConvBlock{n}(2 * width, 2 * width))
        self.stage3 = nn.Sequential(ConvBlock{n}(2 * width, 4 * width, 2), ConvBlock{n}(4 * width, 4 * width))
        self.attention = Attention{n}(4 * width, dropout=dropout)
        self.norm = nn.LayerNorm(4 * width)
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.stage3(self.stage2(self.stage1(x)))
        tokens = x.flatten(2).transpose(1, 2)
        tokens = tokens + self.attention(self.norm(tokens))
        return self.head(tokens.mean(dim=1))

    def feature_maps(self, x):
        maps = []
        x = self.stem(x)
        for stage in (self.stage1, self.stage2, self.stage3):
            x = stage(x)
            maps.append(x)
        return maps


def evaluate_variant{n}(model, loader, device):
    model.eval()
    losses = AverageMeter("loss")
    top1 = AverageMeter("acc@1")
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            losses.update(F.cross_entropy(logits, labels).item(), images.size(0))
            top1.update(accuracy(logits, labels)[0].item(), images.size(0))
    return losses.avg, top1.avg
'''

TRAINING = '''

ARCHITECTURES = {architectures}


def build_model(args):
    return ARCHITECTURES[args.arch](num_classes=args.num_classes, dropout=args.dropout)


def build_optimizer(args, model):
    return optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)


def train_one_epoch(model, loader, optimizer, scaler, epoch, args, device):
    model.train()
    losses = AverageMeter("loss")
    top1 = AverageMeter("acc@1")
    start = time.time()
    for step, (images, labels) in enumerate(loader):
        images, labels = images.to(device), labels.to(device)
        images, targets = mixup_batch(images, labels, args.mixup, args.num_classes)
        with torch.autocast(device_type=device.type, enabled=args.amp):
            logits = model(images)
            loss = soft_cross_entropy(logits, targets, LABEL_SMOOTHING)
        l2_reg = torch.tensor(0.)
        for param in model.parameters():
            l2_reg += torch.norm(param, 2)
        loss = loss + L2_LAMBDA * l2_reg
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if args.clip_grad is not None:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
        scaler.step(optimizer)
        scaler.update()
        losses.update(loss.item(), images.size(0))
        top1.update(accuracy(logits, labels)[0].item(), images.size(0))
        if step % args.log_every == 0:
            elapsed = time.time() - start
            logger.info("epoch %d step %d %s %s (%.1fs)", epoch, step, losses, top1, elapsed)
    return losses.avg, top1.avg


def main(argv=None):
    args = parse_args(argv)
    set_seed(args.seed)
    setup_logging(args.output_dir)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_set = ImageFolderDataset(args.data_dir, "train", args.image_size, augment=True)
    val_set = ImageFolderDataset(args.data_dir, "val", args.image_size)
    train_loader = DataLoader(train_set, args.batch_size, shuffle=True, num_workers=args.num_workers, drop_last=True)
    val_loader = DataLoader(val_set, args.batch_size, num_workers=args.num_workers)
    model = build_model(args).to(device)
    optimizer = build_optimizer(args, model)
    scaler = torch.cuda.amp.GradScaler(enabled=args.amp)
    start_epoch = 0
    if args.resume:
        start_epoch = load_checkpoint(args.resume, model, optimizer)
    history = History()
    for epoch in range(start_epoch, args.epochs):
        lr = adjust_learning_rate(optimizer, epoch, args)
        train_loss, _ = train_one_epoch(model, train_loader, optimizer, scaler, epoch, args, device)
        val_loss, val_acc = evaluate_variant0(model, val_loader, device)
        history.add(train_loss, val_loss, val_acc)
        logger.info("epoch %d lr %.2e train %.4f val %.4f acc %.2f", epoch, lr, train_loss, val_loss, val_acc)
        if (epoch + 1) % args.save_every == 0 or epoch + 1 == args.epochs:
            state = {{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1}}
            save_checkpoint(state, args.output_dir)
    history.dump(os.path.join(args.output_dir, "history.json"))
    return history.best()


if __name__ == "__main__":
    main()
'''

# The line of the training step that the latency benchmark edits (a line the analysis reads).
EDITED_IN_TRAINING_STEP = "        loss = loss + L2_LAMBDA * l2_reg\n"
# A line in a model's forward, which the prefilter shows cannot take part in a finding.
EDITED_IN_MODEL = "        out = self.dropout(out)\n"


def training_file(lines: int = 2000) -> str:
    """A training script of at least `lines` lines (model variants are added until it is)."""
    blocks: list[str] = []

    def assemble() -> str:
        names = ", ".join(f'"variant{n}": Network{n}' for n in range(len(blocks)))
        return HEADER + "".join(blocks) + TRAINING.format(architectures="{" + names + "}")

    blocks.append(BLOCK.format(n=0))
    while assemble().count("\n") < lines:
        blocks.append(BLOCK.format(n=len(blocks)))
    return assemble()


if __name__ == "__main__":
    sys.stdout.write(training_file(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
