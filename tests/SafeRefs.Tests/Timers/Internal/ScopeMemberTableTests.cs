using SafeRefs.Timers.Internal;

namespace SafeRefs.Tests.Timers.Internal;

public sealed class ScopeMemberTableTests
{
    [Fact]
    public void Add_GivesIndexes_RemoveFreesTheCellForTheNext()
    {
        var table = new ScopeMemberTable();
        var a = new Member();
        var b = new Member();
        table.Add(a);
        table.Add(b);
        Assert.Equal((0, 1), (a.Index, b.Index));

        table.Remove(a);
        var c = new Member();
        table.Add(c);

        Assert.Equal(-1, a.Index);
        Assert.Equal(0, c.Index);
        Assert.Equal(1, b.Index);
    }

    [Fact]
    public void Remove_BusyMember_KeepsItsCell_ASweepReclaimsItOnceIdle()
    {
        var table = new ScopeMemberTable();
        var busy = new Member { IsClosed = true, IsBusy = true };
        table.Add(busy);
        table.Remove(busy);
        Assert.Equal(0, busy.Index);

        busy.IsBusy = false;
        for (var i = 0; i < 3; i++)
        {
            table.Add(new Member());
        }

        var capacity = table.Capacity;
        table.Add(new Member()); // full: the sweep finds the idle closed member

        Assert.Equal(-1, busy.Index);
        Assert.Equal(capacity, table.Capacity);
    }

    [Fact]
    public void Add_FullOfLiveMembers_Grows()
    {
        var table = new ScopeMemberTable();
        var members = Enumerable.Range(0, 9).Select(_ => new Member()).ToList();
        members.ForEach(table.Add);

        Assert.Equal(16, table.Capacity);
        Assert.Equal(Enumerable.Range(0, 9), members.Select(m => m.Index));
    }

    [Fact]
    public void TakeAll_EmptiesTheTable()
    {
        var table = new ScopeMemberTable();
        var a = new Member();
        table.Add(a);

        var cells = table.TakeAll(out var used);

        Assert.Equal(1, used);
        Assert.Same(a, cells[0].Member);
        Assert.Equal(0, table.Capacity);
    }

    private sealed class Member : IScopeMember
    {
        public int Index { get; set; } = -1;

        public bool IsClosed { get; set; }

        public bool IsBusy { get; set; }

        public void CloseFromScope(bool report) => IsClosed = true;

        public ValueTask WhenIdleAsync() => default;
    }
}
