"""Input formats a retailer has (the Kaggle export, Amazon Personalize's dataset CSVs, order lines, a suppression
list), each read into the same per-file tables (`formats.tables.FileTables`); the rules are in docs/own-data.md."""
