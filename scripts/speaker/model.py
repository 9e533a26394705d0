"""The speaker network: a small TDNN (x-vector/ECAPA family) over 80-bin fbank, about 0.36 M parameters.

Input feats [B, T, 80] (mean-normalised Kaldi fbank), output embs [B, 128]: the contract of WeSpeaker's ONNX
exports, so shared/audio/speaker.ts runs either without changes.
"""
import torch
from torch import nn
import torch.nn.functional as F

EMBEDDING_DIM = 128
CHANNELS = 128


class TdnnBlock(nn.Module):
    def __init__(self, cin, cout, kernel, dilation, stride=1):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride=stride, dilation=dilation,
                              padding=dilation * (kernel - 1) // 2)
        self.bn = nn.BatchNorm1d(cout)

    def forward(self, x):
        return self.bn(F.relu(self.conv(x)))


class SpeakerNet(nn.Module):
    def __init__(self, channels=CHANNELS, embedding_dim=EMBEDDING_DIM):
        super().__init__()
        self.input_bn = nn.BatchNorm1d(80)
        # Stride 2 in time after the first layer: half the frames for every later layer (the CPU budget).
        self.layer1 = TdnnBlock(80, channels, 5, 1, stride=2)
        self.layer2 = TdnnBlock(channels, channels, 3, 2)
        self.layer3 = TdnnBlock(channels, channels, 3, 3)
        self.layer4 = TdnnBlock(channels, channels, 3, 4)
        # Multi-layer feature aggregation, as ECAPA does: the pooled frame features see every depth.
        self.aggregate = TdnnBlock(3 * channels, 2 * channels, 1, 1)
        # Attentive statistics pooling: frames that carry the voice weigh more than pauses and noise.
        self.attention = nn.Sequential(nn.Conv1d(2 * channels, 64, 1), nn.Tanh(), nn.Conv1d(64, 2 * channels, 1))
        self.pool_bn = nn.BatchNorm1d(4 * channels)
        self.embedding = nn.Linear(4 * channels, embedding_dim)
        self.embedding_bn = nn.BatchNorm1d(embedding_dim)

    def forward(self, feats):
        x = self.input_bn(feats.transpose(1, 2))  # [B, 80, T]
        x1 = self.layer1(x)
        x2 = self.layer2(x1) + x1
        x3 = self.layer3(x2) + x2
        x4 = self.layer4(x3) + x3
        h = self.aggregate(torch.cat([x2, x3, x4], dim=1))
        w = torch.softmax(self.attention(h), dim=2)
        mean = torch.sum(h * w, dim=2)
        std = torch.sqrt(torch.clamp(torch.sum(h * h * w, dim=2) - mean * mean, min=1e-5))
        pooled = self.pool_bn(torch.cat([mean, std], dim=1))
        return self.embedding_bn(self.embedding(pooled))


class AamSoftmax(nn.Module):
    """Additive angular margin softmax (ArcFace): same-speaker embeddings gather, others spread."""

    def __init__(self, embedding_dim, classes, scale=30.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, embedding_dim) * 0.01)
        self.scale = scale

    def forward(self, emb, labels, margin):
        cos = F.linear(F.normalize(emb), F.normalize(self.weight)).clamp(-1 + 1e-7, 1 - 1e-7)
        target = torch.cos(torch.acos(cos) + margin)
        onehot = F.one_hot(labels, cos.shape[1]).bool()
        logits = torch.where(onehot, target, cos) * self.scale
        return F.cross_entropy(logits, labels), (cos.argmax(1) == labels).float().mean()
