"""lstmcast: forecast time series with LSTM networks, correctly and fast."""

__version__ = "0.1.0"
