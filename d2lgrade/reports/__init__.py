"""The instructor's class report (data, then HTML), and a made-up class to try it on."""
