"""What readers see: figures and tables for papers, and the classroom app."""
